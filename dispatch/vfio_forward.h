// The device commands of a forwarded device (a host device bound to
// vfio-pci): decoded only as far as needed to carry them, then handed to
// the real device, whose kernel applies its own argument rules. The
// caller's eventfds are exchanged for the daemon's duplicates on the way.
// The daemon may hold the real device either way; the hot reset commands
// answer as the file the caller holds (vfio_forward_reset.h).
#pragma once

#include <cerrno>
#include <cstdint>
#include <vector>

#include "dispatch/user_memory.h"

namespace ioasid::dispatch {

class ForwardTarget {
  public:
    virtual ~ForwardTarget() = default;
    // The real device's ioctl: its result or -errno.
    virtual int call(unsigned long cmd, void* arg) = 0;
    virtual int64_t pread(void* buf, uint64_t len, uint64_t offset) = 0;
    virtual int64_t pwrite(const void* buf, uint64_t len, uint64_t offset) = 0;
    // The daemon's fd number for the caller's `user_fd` (kept open until
    // end_call()), or -1 when the caller has no such fd.
    virtual int32_t take_fd(int32_t user_fd) = 0;
    virtual void end_call() = 0;

    // A device a hot reset of this one also resets, as the caller's context
    // sees it: its devid there (or VFIO_PCI_DEVID_OWNED/NOT_OWNED) and its
    // IOMMU group.
    struct Dependent {
        uint32_t devid;
        uint32_t group;
        bool has_group;  // the device is in an IOMMU group (`group`)
    };
    virtual Dependent dependent(uint16_t segment, uint8_t bus, uint8_t devfn) = 0;
    // PCI_HOT_RESET of the real device; the caller's context owns `groups`,
    // the groups of every device it resets.
    virtual int hot_reset(const std::vector<uint32_t>& groups) = 0;
    // Opened through its group (VFIO_GROUP_GET_DEVICE_FD): the hot reset
    // commands answer by group, as for the kernel's group-opened device.
    virtual bool through_group() const { return false; }
    // The IOMMU group of the group file a cookie names: 0, -EBADF when it
    // names no open file, -EINVAL for a file that is not a group.
    virtual int group_file(uint64_t cookie, uint32_t& group) {
        (void)cookie, (void)group;
        return -EBADF;
    }
    // Whether the real device's driver tracks DMA (the kernel's log_ops):
    // without it the kernel answers DMA_LOGGING_START and _REPORT with
    // ENOTTY before it reads their ranges or bitmap.
    virtual bool tracks_dma() = 0;
    // An info command the daemon asks on its own behalf (how much room a
    // capability chain needs): answered as call() answers it, and without
    // a side effect, so it is not one of the caller's calls.
    virtual int query(unsigned long cmd, void* arg) = 0;
};

// A device command other than the cdev ones (BIND, ATTACH, DETACH).
int vfio_forward_ioctl(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& mem);
Footprint vfio_forward_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known);

}  // namespace ioasid::dispatch
