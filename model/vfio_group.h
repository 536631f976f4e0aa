// The legacy VFIO group API over the model: the rules of /dev/vfio/N
// (drivers/vfio/group.c) and of /dev/vfio/vfio (drivers/vfio/container.c)
// at Linux 6.12, on the state model::Group and Context::VfioContainer keep.
//
// A group is set either to a container (a context in container mode; the
// group's DMA is claimed for it at SET_CONTAINER, and each device opened
// through the group is a user of the container) or to an iommufd context
// (claimed when a device is bound, as iommufd binds it).
//
// Every function here wants the topology's lock held, and those taking a
// Context its lock too, taken first (context -> topology).
#pragma once

#include <cstdint>

#include "model/context.h"
#include "model/topology.h"

namespace ioasid::model {

// vfio_group_fops_open(): ENODEV (no such group, or its devices are gone),
// EBUSY (open already, or a device of it is open through its cdev).
int group_open(Topology& topo, uint32_t group, uint64_t file);

// vfio_group_fops_release(). `set`: the context the group is set to (its
// container or iommufd; null: none). The group leaves it now, unless
// devices opened through it are still open: the kernel's device files hold
// the group file, and the last of them to close ends it (group_unuse).
void group_close(Context* set, Topology& topo, uint32_t group);

// VFIO_GROUP_GET_STATUS's flags (VFIO_GROUP_FLAGS_*): ENODEV when the
// group's devices are gone.
int group_status(const Topology& topo, uint32_t group, uint32_t& flags);

// VFIO_GROUP_SET_CONTAINER after the fd lookup, with `ctx` a container
// (Context::vfio_container().on) or an iommufd: EINVAL (set already),
// ENODEV, EPERM (a container's claim of the group's DMA failed).
int group_set_container(Context& ctx, Topology& topo, uint32_t group);

// VFIO_GROUP_UNSET_CONTAINER, with `set` the context it is set to (null:
// none): EINVAL (none), EBUSY (a container's devices still use it).
int group_unset_container(Context* set, Topology& topo, uint32_t group);

// GET_DEVICE_FD's vfio_df_group_open() before the device opens: EINVAL (no
// container or iommufd, or the container's IOMMU is not set yet), ENODEV.
// A container gains a user (undone by group_unuse when the device closes).
int group_use(Topology& topo, uint32_t group);
// The device opened through the group closed. `set` as in group_close.
void group_unuse(Context* set, Topology& topo, uint32_t group);

// vfio_device_block_group(): a device of the group is opened through its
// cdev (EBUSY while the group file is open), and closed again.
int group_block_cdev(Topology& topo, uint32_t group);
void group_unblock_cdev(Topology& topo, uint32_t group);

// VFIO_SET_IOMMU on a container: EINVAL (no group yet, or set already),
// ENODEV (no IOMMU driver of that type: ioasidd serves TYPE1 and TYPE1v2).
// The container's IOAS is made then, with each group's domain and reserved
// regions in it, as type1 attaches the groups; a group set later joins it.
int container_set_iommu(Context& ctx, const Topology& topo, uint32_t type);

// iommufd_vfio_compat_ioas_create(): the compatibility IOAS, made if the
// context has none. 0 or -ENOMEM.
int compat_ioas_create(Context& ctx);

}  // namespace ioasid::model
