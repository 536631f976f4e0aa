// A forwarded device's DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_START
// and _REPORT, a migration's device dirty tracking). Their data name the
// caller's memory by address: the ranges to track, the bitmap to fill.
// Passed on as they are, the real device's kernel would read and write
// those addresses in the daemon, as the caller chose them. They go through
// the daemon's own buffers instead, and the caller's addresses come back
// in the struct as they were.
#pragma once

#include <cstdint>
#include <vector>

#include "dispatch/user_memory.h"
#include "dispatch/vfio_forward.h"

namespace ioasid::dispatch {

// `feature`: VFIO_DEVICE_FEATURE's header and the data the kernel reads, as
// the caller wrote them; `acts`: vfio_check_feature() lets the call act on
// its data (vfio_forward_sized.cpp decides). Makes the device call; the
// result, or -errno.
int forward_logging_start(ForwardTarget& t, std::vector<uint8_t>& feature, bool acts,
                          UserMemory& mem);
int forward_logging_report(ForwardTarget& t, std::vector<uint8_t>& feature, bool acts,
                           UserMemory& mem);

// The caller's memory a call that acts reaches beyond the struct: the
// ranges (read), the bitmap (read, then written), on a device that tracks
// DMA.
void logging_footprint(const std::vector<uint8_t>& feature, bool tracks_dma, Footprint& fp);

}  // namespace ioasid::dispatch
