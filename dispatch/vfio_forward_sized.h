// A forwarded device's commands whose struct starts with argsz: the info
// commands (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO) and FEATURE. Each
// copies from the caller exactly what vfio-pci's handler in the kernel
// copies in, and back only what it fills: an argsz past the struct costs
// nothing, a read-only page after the struct is never written, and no byte
// the call does not own is written back over another thread's.
#pragma once

#include <cstdint>

#include "dispatch/user_memory.h"
#include "dispatch/vfio_forward.h"

namespace ioasid::dispatch {

bool forward_info_command(uint32_t cmd);
int forward_info(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& mem);
Footprint forward_info_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known);

int forward_feature(ForwardTarget& t, uint64_t arg, UserMemory& mem);

// The daemon's number for a caller's fd, for the call (vfio_forward.cpp):
// negative numbers ("none") pass, a number the caller does not have
// becomes one no daemon holds, which the kernel answers EBADF.
int32_t forward_fd(ForwardTarget& t, int32_t user_fd);
Footprint forward_feature_footprint(ForwardTarget& t, uint64_t arg, UserMemory& known);

}  // namespace ioasid::dispatch
