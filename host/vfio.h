// The legacy VFIO group/container API, which ioasidd drives to forward a
// host device bound to vfio-pci. This is the one place that calls ioctl()
// on real VFIO. Every call returns 0 (or a result) or -errno.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/unique_fd.h"
#include "model/ioas.h"

namespace ioasid::host {

// One IOMMU group with a type1v2 container of its own. A group's container
// cannot change while a device fd of it is open, so ioasidd gives every
// group its own and mirrors the attached address space into it.
class VfioGroup {
  public:
    // -ENOENT: no such VFIO group (no device of it is bound to vfio-pci);
    // -EBUSY: another program holds it; -EPERM: not viable.
    int open(uint32_t group, const std::string& vfio_dir = "/dev/vfio");
    int device_fd(const std::string& address, UniqueFd& out);
    // The container's valid IOVA ranges and its smallest page size.
    int iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page);
    int map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable);
    int unmap_dma(uint64_t iova, uint64_t size);

  private:
    UniqueFd container_, group_;
};

// A device command forwarded as it is: the ioctl's result or -errno.
int vfio_device_call(int device_fd, unsigned long cmd, void* arg);
int vfio_device_call(int device_fd, unsigned long cmd);

}  // namespace ioasid::host
