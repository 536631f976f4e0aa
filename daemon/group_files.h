// /dev/vfio/N for ioasidd's groups: opens of /dev/ioasid made groups with
// IOASIDD_VFIO_GROUP (see ioasid/ioasidd.h), served with the rules of
// drivers/vfio/group.c that model/vfio_group.h keeps.
//
// Locks, in order: the devices' list (with_node), a device node's, the
// context the group is set to, the topology's. A group file's own
// group_mutex is never held while any of them is taken.
#pragma once

#include <functional>
#include <string>

#include "daemon/device_node.h"
#include "daemon/iommufd_handler.h"
#include "dispatch/user_memory.h"
#include "model/topology.h"

namespace ioasid::daemon {

class GroupFiles {
  public:
    // Runs `fn` on the node serving the device at `address` and its name
    // under /dev, with the node kept alive; -ENODEV when none serves it.
    using NodeFn = std::function<int(DeviceNode& node, const std::string& devname)>;
    using WithNode = std::function<int(const std::string& address, const NodeFn& fn)>;

    GroupFiles(model::SharedTopology& topology, IommufdHandler& iommufd, WithNode with_node)
        : topology_(topology), iommufd_(iommufd), with_node_(std::move(with_node)) {}

    // vfio_group_fops_open() for file `f`; EACCES unless the caller may
    // open every node of the group (what owning /dev/vfio/N gives).
    int open(IommufdFile& f, uint32_t group, const dispatch::Caller& caller);
    void release(IommufdFile& f);
    int ioctl(IommufdFile& f, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
              dispatch::Caller& caller);
    dispatch::Footprint footprint(IommufdFile& f, uint32_t cmd, uint64_t arg,
                                  dispatch::UserMemory& known);

  private:
    model::SharedTopology& topology_;
    IommufdHandler& iommufd_;
    const WithNode with_node_;

    int status(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem);
    int set_container(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem);
    int unset_container(IommufdFile& f);
    int find_device(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem,
                    dispatch::Caller& caller);
    int open_device(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem,
                    dispatch::Caller& caller);
    // The device of f's group that GET_DEVICE_FD's `name` names: 0,
    // -ENODEV (none), -EINVAL (vfio_pci_core_match()'s refusal), -EFAULT.
    int device_named(IommufdFile& f, uint64_t name, dispatch::UserMemory& mem,
                     std::string& address);
};

}  // namespace ioasid::daemon
