// IOASIDD_REGION_RW's own argument rules, the same for emulated and
// forwarded devices: argsz, known flags, and a length an int result holds.
#pragma once

#include <cstdint>

#include "ioasid/ioasidd.h"

namespace ioasid::dispatch {

inline constexpr uint64_t kMaxRegionRw = 0x7fffffff;

inline bool region_rw_valid(const ioasidd_region_rw& rw) {
    return rw.argsz >= sizeof(rw) && !(rw.flags & ~IOASIDD_REGION_WRITE) &&
           rw.length <= kMaxRegionRw;
}

}  // namespace ioasid::dispatch
