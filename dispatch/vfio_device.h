// The ioctls of a device node: the VFIO device cdev ABI of Linux 6.12
// (drivers/vfio/device_cdev.c, vfio_main.c, pci/vfio_pci_core.c) and
// ioasidd's region access, decoded and checked here with the kernel's
// argument rules; what they do to the device and the model is the
// DeviceBackend's business.
#pragma once

#include <cstdint>

#include "devices/emulated.h"
#include "dispatch/user_memory.h"
#include "dispatch/vfio_forward.h"

namespace ioasid::dispatch {

class DeviceBackend {
  public:
    virtual ~DeviceBackend() = default;
    // Whether this open file has been bound (access is granted only then).
    virtual bool bound() const = 0;
    // Opened through its group (VFIO_GROUP_GET_DEVICE_FD) rather than its
    // cdev: bound from the start, and without the cdev's own commands.
    virtual bool through_group() const { return false; }
    // BIND_IOMMUFD after the argument checks: EINVAL when already bound, the
    // errno of the fd lookup (EBADF, EBADFD), or of the model's bind.
    virtual int bind(int32_t iommufd, uint32_t& dev_id) = 0;
    virtual void unbind() = 0;
    virtual int attach(uint32_t& pt_id) = 0;
    virtual void detach() = 0;
    // The device behind the commands: an emulated one, or (once bound) a
    // host device whose commands are forwarded (then device() is not used).
    virtual devices::EmulatedPci& device() = 0;
    virtual const devices::EventfdResolver& eventfds() = 0;
    // Watches a user's eventfd for the emulated device's ioeventfds.
    virtual const devices::Ioeventfds::Watcher& ioevent_watcher() = 0;
    virtual ForwardTarget* forwarded() { return nullptr; }
    // A fast read's value the return value could not carry (EOVERFLOW),
    // kept for the calling thread until IOASIDD_REGION_FAST_HELD takes it:
    // -ENOENT when it has none.
    virtual void hold_read(uint32_t low_bits) = 0;
    virtual int take_held_read() = 0;
};

// Runs one ioctl: its result (>= 0) or a negative errno. The caller
// serialises the commands of one device.
int vfio_device_ioctl(DeviceBackend& be, uint32_t cmd, uint64_t arg, UserMemory& mem);

// The user memory the ioctl will touch, as far as `known` shows it.
Footprint vfio_device_footprint(DeviceBackend& be, uint32_t cmd, uint64_t arg, UserMemory& known);

const char* vfio_device_command_name(uint32_t cmd);

// mmap of `length` bytes at device file `offset` (mmap's `flags`) of an
// emulated device, with the rules of the mmap syscall and of
// vfio_pci_core_mmap(): 0 with the device's memory (`fd`, which it keeps)
// and the offset to map it at; -EINVAL where they refuse; -ENODEV where
// the BAR traps every access (CUSE's own answer to mmap).
int vfio_device_mmap(const devices::EmulatedPci& dev, uint64_t offset, uint64_t length,
                     uint32_t flags, int& fd, uint64_t& fd_offset);

}  // namespace ioasid::dispatch
