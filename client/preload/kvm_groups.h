// KVM's kvm-vfio device and ioasidd's groups, as QEMU 7.2 drives them: it
// adds a group to KVM (KVM_DEV_VFIO_GROUP_ADD, the same number as FILE_ADD)
// before it asks the group for a device, and ioasidd's group is no kernel
// file. The kernel file KVM wants exists only once a forwarded device is
// open: the real VFIO group (legacy API) or device (cdev) the daemon holds.
// So an added group is remembered, each device it then gives is added to
// KVM by that real file (the VMM channel's KVM_FILE), and GROUP_DEL takes
// them away again. An emulated device needs nothing of KVM (router.cpp).
// The bookkeeping is here; what it does to the world goes through a Port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "host/unique_fd.h"

namespace ioasid::preload {

class KvmGroups {
  public:
    struct Port {
        virtual ~Port() = default;
        // The real file KVM is to get for ioasidd device `device_fd`: 0 with
        // `out` set, or unset when the device needs none; else -errno.
        virtual int real_file(int device_fd, host::UniqueFd& out) = 0;
        // KVM_SET_DEVICE_ATTR on kvm-vfio device `kvm_fd`, FILE_ADD or
        // FILE_DEL of `file`: 0 or -errno.
        virtual int kvm_file(int kvm_fd, uint64_t attr, int file) = 0;
    };

    explicit KvmGroups(Port& port) : port_(port) {}

    // GROUP_ADD of ioasidd group `group_fd`: EEXIST when it is added already,
    // as kvm_vfio_file_add() answers.
    int group_added(int kvm_fd, int group_fd);
    // GROUP_DEL: the real files its devices added go too. ENOENT when the
    // group was not added (kvm_vfio_file_del()).
    int group_deleted(int kvm_fd, int group_fd);
    // GET_DEVICE_FD gave `device_fd`: added to each KVM its group is in,
    // once per real file (a legacy group's devices share one).
    void device_opened(int group_fd, int device_fd);
    // The group's fd number was closed: what KVM holds stays (as KVM holds a
    // closed group's file until GROUP_DEL), the library's copies go.
    void group_closed(int group_fd);

    // The real files held for KVM now (for tests).
    size_t files_held() const;

  private:
    struct Added {
        int kvm_fd;
        int group_fd;
        std::vector<host::UniqueFd> files;  // given to KVM, for FILE_DEL
    };
    Port& port_;
    mutable std::mutex mutex_;
    std::vector<Added> added_;
};

}  // namespace ioasid::preload
