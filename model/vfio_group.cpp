#include "model/vfio_group.h"

#include <algorithm>
#include <cerrno>

#include "ioasid/vfio.h"
#include "model/binding.h"
#include "model/refusal.h"

namespace ioasid::model {

namespace {

// A group whose devices are all gone is the kernel's vfio_group with no
// iommu_group left: its commands fail with ENODEV.
Group* live_group(Topology& topo, uint32_t id) {
    Group* g = topo.group(id);
    return g && !g->devices.empty() ? g : nullptr;
}

// The owner of a container group's domain and reserved ranges in its IOAS.
constexpr uint64_t container_key(uint32_t group) {
    return (5ull << 32) | group;
}

// type1's attach_group(): the group's domain (its page sizes and aperture)
// and reserved regions join the container's IOAS, as they do before any
// device of the group is opened.
int join_iommu(Context& ctx, const Topology& topo, uint32_t group) {
    Ioas* ioas = ctx.ioas(ctx.vfio_ioas());
    const Group* g = topo.group(group);
    if (!ioas || !g) return -ENODEV;
    int rc = ioas->add_domain(container_key(group), group_geometry(*g));
    for (const ReservedRegion& r : g->reserved) {
        if (rc || r.type == "direct-relaxable") continue;
        rc = ioas->add_reserved(r.start, r.last, container_key(group));
    }
    if (rc) {
        ioas->remove_reserved(container_key(group));
        ioas->remove_domain(container_key(group));
    }
    return rc;
}

void leave_iommu(Context& ctx, uint32_t group) {
    if (Ioas* ioas = ctx.ioas(ctx.vfio_ioas())) {
        ioas->remove_reserved(container_key(group));
        ioas->remove_domain(container_key(group));
    }
}

// vfio_group_detach_container(): the group's claim goes, and a container
// left with no group returns to its unset state, its IOMMU (and with it
// every mapping) released.
void detach_container(Context& ctx, Topology& topo, Group& g) {
    Context::VfioContainer& c = ctx.vfio_container();
    std::erase(c.groups, g.id);
    const uint32_t id = g.id;
    if (c.iommu_type) leave_iommu(ctx, id);
    g.container = nullptr;
    g.container_users = 0;
    if (c.groups.empty() && c.iommu_type) {
        c.iommu_type = 0;
        if (ctx.vfio_ioas()) ctx.destroy(ctx.vfio_ioas());
    }
    topo.release(id, &ctx);
}

// Whatever the group is set to, it is set to no more.
void leave(Context* set, Topology& topo, Group& g) {
    if (g.iommufd) g.iommufd = nullptr;
    if (g.container && set == g.container) detach_container(*set, topo, g);
}

}  // namespace

int group_open(Topology& topo, uint32_t group, uint64_t file) {
    Group* g = live_group(topo, group);
    if (!g) return -ENODEV;
    if (g->cdev_opens) return refuse(-EBUSY, "open group: a device of it is open by its cdev");
    if (g->group_file) return refuse(-EBUSY, "open group: it is open already");
    g->group_file = file;
    g->group_file_closed = false;
    return 0;
}

void group_close(Context* set, Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (!g || !g->group_file) return;
    g->expected_open.clear();
    g->expected_tgid = 0;
    if (g->container && g->container_users > 1) {
        g->group_file_closed = true;  // the devices' closes end it
        return;
    }
    g->group_file = 0;
    g->group_file_closed = false;
    leave(set, topo, *g);
    topo.drop_if_unused(group);
}

int group_status(const Topology& topo, uint32_t group, uint32_t& flags) {
    const Group* g = topo.group(group);
    if (!g || g->devices.empty()) return -ENODEV;
    // With a container the group's DMA is claimed at SET_CONTAINER, with an
    // iommufd at GET_DEVICE_FD: VIABLE may then promise what the device's
    // bind refuses, as the kernel says.
    flags = 0;
    if (g->container || g->iommufd)
        flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
    else if (!g->owner_count && topo.viable(group))
        flags = VFIO_GROUP_FLAGS_VIABLE;
    return 0;
}

int group_set_container(Context& ctx, Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (g && (g->container || g->iommufd))
        return refuse(-EINVAL, "SET_CONTAINER: the group is set already");
    if (!g || g->devices.empty()) return -ENODEV;
    if (!ctx.vfio_container().on) {
        if (int rc = compat_ioas_create(ctx)) return rc;
        g->iommufd = &ctx;
        return 0;
    }
    // iommu_group_claim_dma_owner(): any owner at all (a bound kernel
    // driver, another user's devices) is EPERM.
    if (g->owner_count) return refuse(-EPERM, "SET_CONTAINER: another context owns the group");
    if (!topo.viable(group)) return refuse(-EPERM, "SET_CONTAINER: the group is not viable");
    if (int rc = topo.claim(group, &ctx)) return rc;
    if (ctx.vfio_container().iommu_type) {
        if (int rc = join_iommu(ctx, topo, group)) {
            topo.release(group, &ctx);
            return rc;
        }
    }
    g->container = &ctx;
    g->container_users = 1;
    ctx.vfio_container().groups.push_back(group);
    return 0;
}

int group_unset_container(Context* set, Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (!g || (!g->container && !g->iommufd))
        return refuse(-EINVAL, "UNSET_CONTAINER: the group is set to none");
    if (g->container && g->container_users != 1)
        return refuse(-EBUSY, "UNSET_CONTAINER: a device of the group is open");
    leave(set, topo, *g);
    return 0;
}

int group_use(Topology& topo, uint32_t group) {
    Group* g = live_group(topo, group);
    if (!g) return -ENODEV;
    if (g->iommufd) return 0;
    // vfio_group_use_container(): SET_CONTAINER done, SET_IOMMU not yet.
    if (!g->container || !g->container->vfio_container().iommu_type)
        return refuse(-EINVAL, "GET_DEVICE_FD: no container, or before SET_IOMMU");
    g->container_users++;
    return 0;
}

void group_unuse(Context* set, Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (!g || !g->container || g->container_users <= 1) return;
    if (--g->container_users == 1 && g->group_file_closed) {
        g->group_file = 0;
        g->group_file_closed = false;
        leave(set, topo, *g);
        topo.drop_if_unused(group);
    }
}

int group_block_cdev(Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (!g) return -ENODEV;
    if (g->group_file) return refuse(-EBUSY, "open: the device's group is open (/dev/vfio/N)");
    g->cdev_opens++;
    return 0;
}

void group_unblock_cdev(Topology& topo, uint32_t group) {
    Group* g = topo.group(group);
    if (!g || !g->cdev_opens) return;
    if (--g->cdev_opens == 0) topo.drop_if_unused(group);
}

int container_set_iommu(Context& ctx, const Topology& topo, uint32_t type) {
    Context::VfioContainer& c = ctx.vfio_container();
    if (c.groups.empty()) return refuse(-EINVAL, "SET_IOMMU: no group is set to the container");
    if (c.iommu_type) return refuse(-EINVAL, "SET_IOMMU: set already");
    if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) return -ENODEV;
    if (int rc = compat_ioas_create(ctx)) return rc;
    // TYPE1 may unmap inside a mapping, which huge pages would forbid.
    if (type == VFIO_TYPE1_IOMMU) ctx.ioas(ctx.vfio_ioas())->set_huge_pages(false);
    // __vfio_container_attach_groups(): all of them, or none.
    for (size_t i = 0; i < c.groups.size(); ++i) {
        if (int rc = join_iommu(ctx, topo, c.groups[i])) {
            while (i--) leave_iommu(ctx, c.groups[i]);
            ctx.destroy(ctx.vfio_ioas());
            return rc;
        }
    }
    c.iommu_type = type;
    return 0;
}

int compat_ioas_create(Context& ctx) {
    if (ctx.vfio_ioas() && ctx.ioas(ctx.vfio_ioas())) return 0;
    const uint32_t id = ctx.alloc_ioas();
    if (!id) return -ENOMEM;
    ctx.set_vfio_ioas(id);
    return 0;
}

}  // namespace ioasid::model
