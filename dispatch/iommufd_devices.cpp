#include "dispatch/iommufd_devices.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <mutex>

#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "model/binding.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

// Zeroes `len` user bytes (clear_user()) a page-sized piece at a time.
int clear_user(UserMemory& mem, uint64_t at, uint64_t len) {
    static const unsigned char zeros[4096] = {};
    while (len) {
        size_t n = std::min<uint64_t>(len, sizeof(zeros));
        if (mem.write(at, zeros, n)) return -EFAULT;
        at += n;
        len -= n;
    }
    return 0;
}

}  // namespace

// iommufd_hwpt_alloc() of a paging HWPT (see model::alloc_hwpt for which
// flags each IOMMU takes).
int do_hwpt_alloc(Ucmd& u) {
    auto& cmd = u.cmd<iommu_hwpt_alloc>();
    if (cmd.__reserved) return -EOPNOTSUPP;
    if ((cmd.data_type == IOMMU_HWPT_DATA_NONE) != (cmd.data_len == 0))
        return refuse(-EINVAL, "HWPT_ALLOC: data_len does not match data_type");
    model::SharedTopology* shared = u.ctx.topology();
    if (!shared) return -ENOENT;  // no device can be bound here
    uint32_t id = 0;
    {
        std::lock_guard lock(shared->mutex);
        model::HwptOptions options;
        options.nest_parent = cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
        options.dirty_tracking = cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
        options.other_flags =
            cmd.flags & ~uint32_t{IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING};
        options.user_data = cmd.data_len != 0;
        int rc = model::alloc_hwpt(u.ctx, shared->topo, cmd.dev_id, cmd.pt_id, id, options);
        if (rc) return rc;
    }
    cmd.out_hwpt_id = id;
    int rc = u.respond(sizeof(cmd));
    if (rc) u.ctx.destroy(id);
    return rc;
}

// iommufd_hwpt_invalidate(): the arguments are checked, then the HWPT must
// be a nested one, which ioasidd does not make yet (ENOENT, as the kernel
// answers an id of another type). entry_num goes back with any result.
int do_hwpt_invalidate(Ucmd& u) {
    auto& cmd = u.cmd<iommu_hwpt_invalidate>();
    constexpr uint32_t kEntryNumMax = 1u << 19;
    int rc = -ENOENT;
    if (cmd.__reserved)
        rc = -EOPNOTSUPP;
    else if (cmd.entry_num && (!cmd.data_uptr || !cmd.entry_len || cmd.entry_len > 4096 ||
                               cmd.entry_num > kEntryNumMax))
        rc = refuse(-EINVAL, "HWPT_INVALIDATE: entries without data, or of a bad size or number");
    cmd.entry_num = 0;
    if (u.respond(sizeof(cmd))) return -EFAULT;
    return rc;
}

// iommufd_get_hw_info(). ioasidd's emulated IOMMU has no hw_info (TYPE_NONE,
// no data); the selftest's mock IOMMU has its test register and tracks
// dirty pages unless the mock device was made with NO_DIRTY.
int do_get_hw_info(Ucmd& u) {
    auto& cmd = u.cmd<iommu_hw_info>();
    if (cmd.flags || cmd.__reserved[0] || cmd.__reserved[1] || cmd.__reserved[2])
        return -EOPNOTSUPP;
    auto* dev = u.ctx.objects().get<model::DeviceObject>(cmd.dev_id, model::ObjectType::Device);
    if (!dev) return -ENOENT;
    bool mock = false;
    uint32_t mock_flags = 0;
    if (model::SharedTopology* shared = u.ctx.topology()) {
        std::lock_guard lock(shared->mutex);
        const model::PciDevice* pci = shared->topo.device(dev->address);
        mock = pci && pci->mock();
        mock_flags = pci ? pci->mock_flags : 0;
    }
    const iommu_test_hw_info info{0, IOMMU_HW_INFO_SELFTEST_REGVAL};
    const uint32_t data_len = mock ? sizeof(info) : 0;
    const uint32_t copy = std::min(cmd.data_len, data_len);
    if (copy && u.mem.write(cmd.data_uptr, &info, copy)) return -EFAULT;
    if (copy < cmd.data_len && clear_user(u.mem, cmd.data_uptr + copy, cmd.data_len - copy))
        return -EFAULT;
    cmd.out_data_type =
        mock ? uint32_t{IOMMU_HW_INFO_TYPE_SELFTEST} : uint32_t{IOMMU_HW_INFO_TYPE_NONE};
    cmd.data_len = data_len;
    cmd.out_capabilities =
        mock && !(mock_flags & MOCK_FLAGS_DEVICE_NO_DIRTY) ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
    cmd.out_max_pasid_log2 = 0;
    return u.respond(sizeof(cmd));
}

namespace {

int group_status(model::Context& ctx, ioasidd_group_status& st) {
    uint32_t group = st.id;
    if (st.flags & IOASIDD_GROUP_BY_DEVID) {
        auto* dev = ctx.objects().get<model::DeviceObject>(st.id, model::ObjectType::Device);
        if (!dev) return -ENOENT;
        group = dev->group;
    }
    model::SharedTopology* shared = ctx.topology();
    if (!shared) return -ENOENT;
    std::lock_guard lock(shared->mutex);
    const model::Group* g = shared->topo.group(group);
    if (!g) return -ENOENT;
    st.out_group = group;
    st.out_flags = 0;
    if (shared->topo.viable(group)) st.out_flags |= IOASIDD_GROUP_VIABLE;
    if (g->owner == &ctx) st.out_flags |= IOASIDD_GROUP_OWNED;
    if (g->owner && g->owner != &ctx) st.out_flags |= IOASIDD_GROUP_OWNED_ELSEWHERE;
    st.out_num_devices = static_cast<uint32_t>(g->devices.size());
    st.out_num_blocking = shared->topo.blocking_devices(group);
    return 0;
}

}  // namespace

int ioasidd_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem) {
    if (cmd == IOASIDD_NODE_KIND) return IOASIDD_NODE_IOMMUFD;
    if (cmd != IOASIDD_GROUP_STATUS) return -ENOTTY;
    ioasidd_group_status st;
    if (mem.read(arg, &st, sizeof(st))) return -EFAULT;
    if (st.argsz < sizeof(st) || (st.flags & ~IOASIDD_GROUP_BY_DEVID))
        return refuse(-EINVAL, "GROUP_STATUS: argsz short, or flags");
    int rc = group_status(ctx, st);
    if (rc) return rc;
    return mem.write(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

Footprint ioasidd_footprint(uint32_t cmd, uint64_t arg) {
    Footprint fp;
    if (cmd != IOASIDD_GROUP_STATUS) return fp;
    fp.in.push_back({arg, sizeof(ioasidd_group_status)});
    fp.out.push_back({arg, sizeof(ioasidd_group_status)});
    return fp;
}

}  // namespace ioasid::dispatch
