// /dev/vfio/vfio (drivers/vfio/container.c) on an open of /dev/ioasid made a
// container with IOASIDD_VFIO_CONTAINER: the container's rules in front of
// the type1 commands vfio_compat serves. SET_IOMMU needs a group set to the
// container (model/vfio_group.h) and makes its IOAS; the type1 commands
// are EINVAL before it, as with no IOMMU driver, and go to the IOAS after.
#pragma once

#include <cstdint>

#include "dispatch/user_memory.h"
#include "model/context.h"

namespace ioasid::dispatch {

int vfio_container_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem,
                         Caller& caller);
Footprint vfio_container_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                                   UserMemory& known);

}  // namespace ioasid::dispatch
