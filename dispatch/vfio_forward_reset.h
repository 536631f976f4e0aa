// A forwarded device's hot reset (GET_PCI_HOT_RESET_INFO, PCI_HOT_RESET and
// ioasidd's PCI_HOT_RESET_GROUPS), answered as the kernel answers the file
// the caller holds: a cdev-opened device names the devices a reset takes
// along by devid and proves ownership by its context; a device opened
// through its group names them by group and proves ownership by the group
// files it is given. The daemon's own real device may be held either way.
#pragma once

#include <cstdint>

#include "dispatch/user_memory.h"
#include "dispatch/vfio_forward.h"

namespace ioasid::dispatch {

int forward_hot_reset_info(ForwardTarget& t, uint64_t arg, UserMemory& mem);
uint32_t hot_reset_info_span(uint32_t argsz);
int forward_hot_reset(ForwardTarget& t, uint64_t arg, UserMemory& mem);
int forward_hot_reset_groups(ForwardTarget& t, uint64_t arg, UserMemory& mem);
Footprint hot_reset_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known);

}  // namespace ioasid::dispatch
