// A directory per device node, shaped as the sysfs directory of a PCI
// device that QEMU 10's -device vfio-pci,sysfsdev=DIR,iommufd=ID accepts:
//   DIR/vfio-dev/vfioN/dev   MAJOR:MINOR of the node
// QEMU takes vfioN from the directory, opens /dev/vfio/devices/vfioN and
// checks with fstat that it is a character device with that number: the
// nodes must be named vfio/devices/vfio%u (--device-node-pattern) for it.
//   DIR/iommu_group          a link whose last part names the IOMMU group
// QEMU 7.2 (and QEMU 10 without iommufd=) reads the group number from the
// link's last part and opens /dev/vfio/N, which the preload library makes
// ioasidd's group; the link goes to /sys/kernel/iommu_groups/N, which is
// there only for a host group (a forwarded device's).
// DIR is ROOT/<PCI address>, ROOT /run/ioasidd/devices by default.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace ioasid::daemon {

class DeviceDirs {
  public:
    explicit DeviceDirs(std::string root) : root_(std::move(root)) {}
    ~DeviceDirs();  // withdraws every directory it published
    DeviceDirs(const DeviceDirs&) = delete;
    DeviceDirs& operator=(const DeviceDirs&) = delete;

    // 0 or -errno; a failure is logged and leaves the node usable by fd.
    int publish(const std::string& address, const std::string& devname, dev_t devt, uint32_t group);
    void withdraw(const std::string& address);
    const std::string& root() const { return root_; }

  private:
    void remove_tree(const std::string& address);
    std::string root_;
    std::mutex mutex_;
    std::set<std::string> published_;
};

}  // namespace ioasid::daemon
