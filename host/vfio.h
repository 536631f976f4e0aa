// What ioasidd drives to forward a host device bound to vfio-pci: the
// legacy VFIO group/container API (all kernels with VFIO; Debian 12's has
// nothing else), or the kernel's own iommufd and VFIO device cdev where it
// has them. This is the one place that calls ioctl() on real VFIO. Every
// call returns 0 (or a result) or -errno.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/unique_fd.h"
#include "model/ioas.h"

namespace ioasid::host {

// One IOMMU group's DMA, in an address space of its own that ioasidd fills
// with the mappings of the IOAS the group is attached to. (A legacy
// group's container cannot change while a device fd of it is open, so
// every group gets its own.)
class VfioGroup {
  public:
    virtual ~VfioGroup() = default;
    virtual const char* api() const = 0;
    // -ENOENT: no such VFIO group (no device of it is bound to vfio-pci);
    // -EBUSY: another program holds it; -EPERM: not viable.
    virtual int open(uint32_t group) = 0;
    // The device's fd, its DMA in the group's address space.
    virtual int device_fd(const std::string& address, UniqueFd& out) = 0;
    // The valid IOVA ranges (once a device is in) and the smallest page.
    virtual int iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) = 0;
    virtual int map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) = 0;
    virtual int unmap_dma(uint64_t iova, uint64_t size) = 0;
    // PCI_HOT_RESET of `device_fd`, a device of this group; `affected` are
    // the groups of every device the reset takes along, this one included.
    virtual int hot_reset(int device_fd, const std::vector<const VfioGroup*>& affected) const = 0;
    // The file KVM's kvm-vfio device takes for `device_fd`, one of this
    // group's devices: the group (legacy) or the device file (cdev).
    virtual int kvm_file(int device_fd) const = 0;
};

// /dev/vfio/<group> with a type1v2 container.
class LegacyGroup final : public VfioGroup {
  public:
    const char* api() const override { return "legacy VFIO container"; }
    int open(uint32_t group) override;
    int device_fd(const std::string& address, UniqueFd& out) override;
    int iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) override;
    int map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) override;
    int unmap_dma(uint64_t iova, uint64_t size) override;
    // The legacy reset proves ownership by the fds of the affected groups.
    int hot_reset(int device_fd, const std::vector<const VfioGroup*>& affected) const override;
    int kvm_file(int) const override { return group_.get(); }

  private:
    UniqueFd container_, group_;
};

// The kernel's /dev/iommu with an IOAS of the group's own, and each
// device's /dev/vfio/devices/vfioN bound to it and attached. The groups of
// one owner (a client's context) share one /dev/iommu: the kernel's hot
// reset of a cdev-opened device wants every device it resets bound to the
// same one.
class CdevGroup final : public VfioGroup {
  public:
    explicit CdevGroup(const void* owner) : owner_(owner) {}
    ~CdevGroup() override;
    const char* api() const override { return "kernel iommufd and VFIO cdev"; }
    int open(uint32_t group) override;
    int device_fd(const std::string& address, UniqueFd& out) override;
    int iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) override;
    int map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) override;
    int unmap_dma(uint64_t iova, uint64_t size) override;
    // The kernel checks ownership in the shared /dev/iommu; ioasidd has
    // checked it in the caller's context.
    int hot_reset(int device_fd, const std::vector<const VfioGroup*>& affected) const override;
    int kvm_file(int device_fd) const override { return device_fd; }

  private:
    const void* const owner_;
    std::shared_ptr<const UniqueFd> iommufd_;
    uint32_t ioas_ = 0;
};

enum class VfioApi { Auto, Legacy, Cdev };
// The API that forwards the device at `address`: with Auto, the cdev when
// the kernel has one for the device and /dev/iommu exists, else legacy.
// `owner` names who the group is opened for (groups of one owner share a
// /dev/iommu with the cdev).
std::unique_ptr<VfioGroup> make_vfio_group(VfioApi api, const std::string& address,
                                           const void* owner);

// A device command forwarded as it is: the ioctl's result or -errno.
int vfio_device_call(int device_fd, unsigned long cmd, void* arg);
int vfio_device_call(int device_fd, unsigned long cmd);

}  // namespace ioasid::host
