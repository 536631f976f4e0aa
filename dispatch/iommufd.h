// The iommufd ioctls of /dev/ioasid: decode, check and execute against the
// model, with the kernel's argument rules (drivers/iommu/iommufd/main.c).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dispatch/user_memory.h"
#include "model/context.h"

namespace ioasid::dispatch {

// Runs one ioctl. Returns the ioctl's result (>= 0) or a negative errno.
// The caller holds ctx.mutex().
int iommufd_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem, Caller& caller);

// The user memory an ioctl will touch, as far as `known` lets us see it.
// It follows the handler's own checks against the context (a command that
// fails before reading an array does not ask for it), so the caller under
// the retry protocol gets the kernel's errno, not a fault on a pointer the
// kernel would never have followed.
Footprint iommufd_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                            UserMemory& known);

// "IOAS_MAP" etc., or nullptr for a command /dev/ioasid does not serve.
const char* iommufd_command_name(uint32_t cmd);
// A small dense index per served command (for statistics), or -1.
int iommufd_command_index(uint32_t cmd);
inline constexpr int kIommufdCommandCount = 21;  // 0x80..0x8d, TEST_CMD, VFIO compat

}  // namespace ioasid::dispatch
