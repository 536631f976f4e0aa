#include "model/binding.h"

#include <algorithm>
#include <cerrno>

#include "model/refusal.h"

namespace ioasid::model {

namespace {

DeviceObject* find_device(const Context& ctx, uint32_t id) {
    return ctx.objects().get<DeviceObject>(id, ObjectType::Device);
}

HwptPagingObject* find_hwpt(const Context& ctx, uint32_t id) {
    return ctx.objects().get<HwptPagingObject>(id, ObjectType::HwptPaging);
}

// iopt_table_enforce_dev_resv_regions(): every reserved region of the device
// but the relaxable direct ones becomes a reserved IOVA range of the IOAS.
int enforce_reserved(Ioas& ioas, const Topology& topo, const DeviceObject& dev) {
    const Group* g = topo.group(dev.group);
    if (!g) return 0;
    for (const ReservedRegion& r : g->reserved) {
        if (r.type == "direct-relaxable") continue;
        int rc = ioas.add_reserved(r.start, r.last, device_key(dev.id));
        if (rc) {
            ioas.remove_reserved(device_key(dev.id));
            return rc;
        }
    }
    return 0;
}

void remove_group_reserved(const Context::AttachedGroup& ag, Ioas& ioas) {
    for (uint32_t d : ag.devices) ioas.remove_reserved(device_key(d));
}

// iommufd_hw_pagetable_put(): an automatic HWPT goes with its last device.
void put_hwpt(Context& ctx, HwptPagingObject& hwpt) {
    hwpt.users--;
    if (hwpt.auto_domain && hwpt.users == 0) ctx.objects().destroy(hwpt.id);
}

// The inverse of do_attach(); the caller drops the HWPT's reference.
void undo_attach(Context& ctx, DeviceObject& dev, HwptPagingObject& hwpt) {
    Ioas& ioas = *ctx.ioas(hwpt.ioas_id);
    auto it = ctx.attached_groups().find(dev.group);
    std::erase(it->second.devices, dev.id);
    if (it->second.devices.empty()) {
        ctx.attached_groups().erase(it);
        ioas.remove_mirror(group_key(dev.group));  // the group's last device left
    }
    ioas.remove_reserved(device_key(dev.id));
    dev.hwpt = 0;
}

AreaMirror* group_mirror(const Topology& topo, uint32_t group) {
    const Group* g = topo.group(group);
    return g ? g->mirror : nullptr;
}

// A domain takes only devices of the IOMMU that made it (the kernel's
// __iommu_attach_group() checks the domain's owner), and those the driver
// accepts: EINVAL otherwise.
bool same_iommu(const Topology& topo, const HwptPagingObject& hwpt, const DeviceObject& dev) {
    const Group* g = topo.group(dev.group);
    if (hwpt.mock != (g && g->mock_iommu)) return false;
    // The mock driver's attach_dev refuses a dirty-tracking domain to a
    // device that cannot track.
    const PciDevice* pci = topo.device(dev.address);
    return !hwpt.dirty_ops || (pci && pci->dirty_capable());
}

// iommufd_hw_pagetable_attach(): one HWPT per group.
int do_attach(Context& ctx, Topology& topo, HwptPagingObject& hwpt, DeviceObject& dev) {
    auto& groups = ctx.attached_groups();
    auto it = groups.find(dev.group);
    if (it != groups.end() && it->second.hwpt != hwpt.id)
        return refuse(-EINVAL, "attach: the device's group is attached to another HWPT");
    if (!same_iommu(topo, hwpt, dev))
        return refuse(-EINVAL, "attach: the HWPT's domain is of another IOMMU");
    Ioas& ioas = *ctx.ioas(hwpt.ioas_id);
    int rc = enforce_reserved(ioas, topo, dev);
    if (rc) return rc;
    // The group's first device: a forwarded group's container takes the IOAS.
    AreaMirror* mirror = it == groups.end() ? group_mirror(topo, dev.group) : nullptr;
    if (mirror && (rc = ioas.add_mirror(group_key(dev.group), *mirror))) {
        ioas.remove_reserved(device_key(dev.id));
        return rc;
    }
    Context::AttachedGroup& ag = groups[dev.group];
    ag.hwpt = hwpt.id;
    ag.devices.push_back(dev.id);
    hwpt.users++;
    dev.hwpt = hwpt.id;
    return 0;
}

// A forwarded group's one container cannot hold two address spaces at once:
// empty it, fill it from the new IOAS, and refill it from the old one if
// that fails.
int move_mirror(const Topology& topo, uint32_t group, Ioas& from, Ioas& to) {
    AreaMirror* mirror = group_mirror(topo, group);
    if (!mirror) return 0;
    from.remove_mirror(group_key(group));
    int rc = to.add_mirror(group_key(group), *mirror);
    if (rc) from.add_mirror(group_key(group), *mirror);
    return rc;
}

// iommufd_device_do_replace(): the whole group moves to the new HWPT.
int do_replace(Context& ctx, Topology& topo, HwptPagingObject& hwpt, DeviceObject& dev) {
    auto it = ctx.attached_groups().find(dev.group);
    if (it == ctx.attached_groups().end())
        return refuse(-EINVAL, "replace: the group is attached to none");
    Context::AttachedGroup& ag = it->second;
    if (std::find(ag.devices.begin(), ag.devices.end(), dev.id) == ag.devices.end())
        return refuse(-EINVAL, "replace: the device is not attached");
    if (hwpt.id == ag.hwpt) return 0;
    if (!same_iommu(topo, hwpt, dev))
        return refuse(-EINVAL, "replace: the HWPT's domain is of another IOMMU");
    HwptPagingObject& old = *find_hwpt(ctx, ag.hwpt);
    Ioas& new_ioas = *ctx.ioas(hwpt.ioas_id);
    if (old.ioas_id != hwpt.ioas_id) {
        for (uint32_t d : ag.devices) {
            int rc = enforce_reserved(new_ioas, topo, *find_device(ctx, d));
            if (rc) {
                remove_group_reserved(ag, new_ioas);
                return rc;
            }
        }
        int rc = move_mirror(topo, dev.group, *ctx.ioas(old.ioas_id), new_ioas);
        if (rc) {
            remove_group_reserved(ag, new_ioas);
            return rc;
        }
        remove_group_reserved(ag, *ctx.ioas(old.ioas_id));
    }
    ag.hwpt = hwpt.id;
    for (uint32_t d : ag.devices) find_device(ctx, d)->hwpt = hwpt.id;
    const auto n = static_cast<uint32_t>(ag.devices.size());
    hwpt.users += n;
    old.users -= n - 1;
    put_hwpt(ctx, old);
    return 0;
}

using AttachFn = int (*)(Context&, Topology&, HwptPagingObject&, DeviceObject&);

// A new paging HWPT on the IOAS; with `immediate` the device is attached
// before the domain joins the IOAS, as the kernel does for automatic ones.
int new_hwpt(Context& ctx, Topology& topo, uint32_t ioas_id, DeviceObject* immediate,
             const DomainGeometry& geometry, HwptPagingObject*& out) {
    IoasObject* ioas = ctx.objects().get<IoasObject>(ioas_id, ObjectType::Ioas);
    uint32_t id = ctx.objects().add(std::make_unique<HwptPagingObject>(ioas_id));
    if (!id) return -ENOMEM;
    auto* hwpt = find_hwpt(ctx, id);
    hwpt->mock = geometry.mock;
    hwpt->pgsize_bitmap = geometry.pgsize_bitmap ? geometry.pgsize_bitmap : geometry.page_size;
    ioas->users++;
    if (immediate) {
        int rc = do_attach(ctx, topo, *hwpt, *immediate);
        if (rc) {
            ctx.objects().destroy(id);
            return rc;
        }
    }
    int rc = ioas->ioas.add_domain(domain_key(id), geometry);
    if (rc) {
        if (immediate) {
            undo_attach(ctx, *immediate, *hwpt);
            hwpt->users--;
        }
        ctx.objects().destroy(id);
        return rc;
    }
    out = hwpt;
    return 0;
}

// iommufd_device_auto_get_domain(): reuse an automatic HWPT of the IOAS that
// takes the device, else make one.
int auto_domain(Context& ctx, Topology& topo, DeviceObject& dev, uint32_t ioas_id, AttachFn fn,
                uint32_t& pt_id) {
    for (const auto& [id, obj] : ctx.objects().all()) {
        if (obj->type != ObjectType::HwptPaging) continue;
        auto& hwpt = static_cast<HwptPagingObject&>(*obj);
        if (!hwpt.auto_domain || hwpt.ioas_id != ioas_id) continue;
        int rc = fn(ctx, topo, hwpt, dev);
        if (rc == -EINVAL) {  // incompatible: try the next one, which may take it
            clear_refusal();
            continue;
        }
        if (rc == 0) pt_id = id;
        return rc;
    }
    const Group* g = topo.group(dev.group);
    const DomainGeometry geometry = g ? group_geometry(*g) : DomainGeometry{};
    const bool immediate = fn == do_attach;
    HwptPagingObject* hwpt = nullptr;
    int rc = new_hwpt(ctx, topo, ioas_id, immediate ? &dev : nullptr, geometry, hwpt);
    if (rc) return rc;
    if (!immediate) {
        // Held by this call until the replace moves the group onto it.
        hwpt->users++;
        rc = fn(ctx, topo, *hwpt, dev);
        hwpt->users--;
        if (rc) {
            ctx.objects().destroy(hwpt->id);
            return rc;
        }
    }
    hwpt->auto_domain = true;
    pt_id = hwpt->id;
    return 0;
}

}  // namespace

DomainGeometry group_geometry(const Group& group) {
    return DomainGeometry{group.page_size, group.aperture_start, group.aperture_last,
                          group.mock_iommu, group.pgsize_bitmap};
}

int bind_device(Context& ctx, Topology& topo, const std::string& address, uint32_t& dev_id) {
    const PciDevice* dev = topo.device(address);
    if (!dev) return -ENODEV;
    const uint32_t group = dev->group;
    int rc = topo.claim(group, &ctx);
    if (rc) return rc;
    auto obj = std::make_unique<DeviceObject>(address, group);
    obj->users = 1;  // the binding itself, until unbind
    dev_id = ctx.objects().add(std::move(obj));
    if (!dev_id) {
        topo.release(group, &ctx);
        return -ENOMEM;
    }
    return 0;
}

void unbind_device(Context& ctx, Topology& topo, uint32_t dev_id) {
    DeviceObject* dev = find_device(ctx, dev_id);
    if (!dev) return;
    if (dev->hwpt) detach_device(ctx, topo, dev_id);
    const uint32_t group = dev->group;
    dev->users = 0;
    ctx.objects().destroy(dev_id);
    topo.release(group, &ctx);
}

uint32_t dependent_devid(const Context& ctx, const Topology& topo, const std::string& address) {
    const PciDevice* dev = topo.device(address);
    if (!dev || !dev->vfio_bound()) return kDevidNotOwned;
    for (const auto& [id, obj] : ctx.objects().all())
        if (obj->type == ObjectType::Device &&
            static_cast<const DeviceObject&>(*obj).address == address)
            return id;
    const Group* group = topo.group(dev->group);
    return group && group->owner == &ctx ? kDevidOwned : kDevidNotOwned;
}

int attach_device(Context& ctx, Topology& topo, uint32_t dev_id, uint32_t& pt_id) {
    DeviceObject* dev = find_device(ctx, dev_id);
    if (!dev) return -ENODEV;
    Object* pt = ctx.objects().find_any(pt_id);
    if (!pt) return -ENOENT;
    const bool replace = dev->hwpt != 0;
    AttachFn fn = replace ? do_replace : do_attach;
    int rc;
    switch (pt->type) {
        case ObjectType::HwptPaging:
            rc = fn(ctx, topo, static_cast<HwptPagingObject&>(*pt), *dev);
            break;
        case ObjectType::Ioas:
            rc = auto_domain(ctx, topo, *dev, pt_id, fn, pt_id);
            break;
        default:
            return refuse(-EINVAL, "attach: the id names neither an IOAS nor a HWPT");
    }
    if (rc == 0 && !replace) dev->users++;  // the attachment holds the device
    return rc;
}

void detach_device(Context& ctx, Topology&, uint32_t dev_id) {
    DeviceObject* dev = find_device(ctx, dev_id);
    if (!dev || !dev->hwpt) return;
    HwptPagingObject* hwpt = find_hwpt(ctx, dev->hwpt);
    undo_attach(ctx, *dev, *hwpt);
    dev->users--;
    put_hwpt(ctx, *hwpt);
}

int alloc_hwpt(Context& ctx, Topology& topo, uint32_t dev_id, uint32_t pt_id, uint32_t& out_id,
               const HwptOptions& options) {
    DeviceObject* dev = find_device(ctx, dev_id);
    if (!dev) return -ENOENT;
    Object* pt = ctx.objects().find_any(pt_id);
    if (!pt) return refuse(-EINVAL, "HWPT_ALLOC: no object has pt_id");
    // Nested HWPTs are not made yet.
    if (pt->type == ObjectType::HwptPaging) return -EOPNOTSUPP;
    if (pt->type != ObjectType::Ioas) return refuse(-EINVAL, "HWPT_ALLOC: pt_id is not an IOAS");
    const Group* g = topo.group(dev->group);
    const PciDevice* pci = topo.device(dev->address);
    // Only the mock IOMMU has domain_alloc_user; its domains take no data.
    if (options.any() && !(g && g->mock_iommu)) return -EOPNOTSUPP;
    if (options.other_flags || options.user_data) return -EOPNOTSUPP;
    if (options.dirty_tracking && !(pci && pci->dirty_capable())) return -EOPNOTSUPP;
    HwptPagingObject* hwpt = nullptr;
    int rc = new_hwpt(ctx, topo, pt_id, nullptr, g ? group_geometry(*g) : DomainGeometry{}, hwpt);
    if (rc) return rc;
    hwpt->nest_parent = options.nest_parent;
    hwpt->dirty_ops = options.dirty_tracking;
    out_id = hwpt->id;
    return 0;
}

Ioas* device_ioas(const Context& ctx, uint32_t dev_id) {
    DeviceObject* dev = find_device(ctx, dev_id);
    if (!dev || !dev->hwpt) return nullptr;
    return ctx.ioas(find_hwpt(ctx, dev->hwpt)->ioas_id);
}

}  // namespace ioasid::model
