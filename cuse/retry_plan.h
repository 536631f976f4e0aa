// The FUSE ioctl retry protocol, decided from the bytes one request brought.
//
// Requests carry no state of ours between rounds, so each round replays the
// command's footprint from the start over the data the kernel copied in:
// while the footprint grows and the data covers it, read on; when it asks for
// more than came, ask the kernel for it; when it stops growing and matches
// what came, run the command. Pure: no libfuse, so the fuzzer drives it too.
#pragma once

#include <cstddef>
#include <functional>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

struct RetryPlan {
    enum class Action { Ask, Run, Fail } action;
    dispatch::Footprint footprint;  // Ask: what to ask for; Run: what came
    unsigned round = 1;             // which round trip this request is
};

using FootprintFn = std::function<dispatch::Footprint(dispatch::UserMemory& known)>;

RetryPlan plan_retry(const FootprintFn& footprint, const void* in, size_t in_size, size_t out_size);

// A footprint as the kernel must carry it. The kernel copies the out regions
// back in order with no way to skip a byte, so when an out-only region
// overlaps another out region (a caller's array over its own struct) its
// bytes up to the end of the overlap are read in too: a write through the
// other region would otherwise leave bytes of it unknown ahead of the last
// one written. Beyond the overlap an out-only region is filled from its
// start (dispatch::Footprint's rule), so nothing more is needed.
dispatch::Footprint carried(dispatch::Footprint fp);

// Whether the kernel will carry a footprint in one retry (fs/fuse/ioctl.c:
// at most 256 iovecs, 32 pages each way on CUSE); else it fails the caller's
// ioctl with ENOMEM.
bool fits_one_retry(const dispatch::Footprint& fp);

}  // namespace ioasid::cuse
