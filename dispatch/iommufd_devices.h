// The /dev/ioasid commands that name bound devices: HWPT_ALLOC, GET_HW_INFO,
// and ioasidd's IOASIDD_GROUP_STATUS. Internal to dispatch/iommufd.cpp.
#pragma once

#include "dispatch/ucmd.h"

namespace ioasid::dispatch {

int do_hwpt_alloc(Ucmd& u);
int do_get_hw_info(Ucmd& u);
int do_hwpt_invalidate(Ucmd& u);

// ioasidd's private commands (IOASIDD_TYPE) on /dev/ioasid, VFIO-style
// argsz rules; -ENOTTY for a number it does not serve.
int ioasidd_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem);
Footprint ioasidd_footprint(uint32_t cmd, uint64_t arg);

}  // namespace ioasid::dispatch
