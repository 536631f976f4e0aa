// iommufd's VFIO container compatibility (drivers/iommu/iommufd/
// vfio_compat.c): the type1 container ioctls on /dev/ioasid, acting on the
// IOAS set with IOMMU_VFIO_IOAS. Every command number iommufd does not
// serve itself comes here; unknown ones are ENOTTY.
#pragma once

#include <cstdint>

#include "dispatch/user_memory.h"
#include "model/context.h"

namespace ioasid::dispatch {

int vfio_compat_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem,
                      Caller& caller);
Footprint vfio_compat_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                                UserMemory& known);

// The commands served, named for traces and numbered 0.. for statistics.
inline constexpr int kVfioCompatCommandCount = 6;
const char* vfio_compat_command_name(uint32_t cmd);
int vfio_compat_command_index(uint32_t cmd);  // -1: not one of them

}  // namespace ioasid::dispatch
