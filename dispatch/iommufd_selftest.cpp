#include "dispatch/iommufd_selftest.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <utility>
#include <vector>

#include "dispatch/caller_source.h"
#include "dispatch/iommufd_dirty.h"
#include "ioasid/iommufd_test.h"
#include "model/binding.h"
#include "model/ioas.h"
#include "model/objects.h"
#include "model/refusal.h"
#include "model/topology.h"

namespace ioasid::dispatch {

namespace {

std::atomic<size_t> memory_limit{65536};

// The owner of ranges ADD_RESERVED puts in an IOAS: none removes them (the
// kernel reserves them with a NULL owner), they go with the IOAS.
constexpr uint64_t kTestReservedOwner = 4ull << 32;

int add_reserved(Ucmd& u, const iommu_test_cmd& cmd) {
    const uint64_t start = cmd.add_reserved.start, length = cmd.add_reserved.length;
    if (!length) return refuse(-EINVAL, "TEST ADD_RESERVED: a length of 0");
    uint64_t last;
    if (__builtin_add_overflow(start, length - 1, &last)) return -EOVERFLOW;
    model::Ioas* ioas = u.ctx.ioas(cmd.id);
    if (!ioas) return -ENOENT;
    return ioas->add_reserved(start, last, kTestReservedOwner);
}

// The user ranges of the caller's memory that domains pin, one entry per
// pin: MD_CHECK_REFS counts them over each page. The kernel counts pins in
// the page's refcount; ioasidd pins nothing and answers from its
// bookkeeping instead: an area's pages are pinned once its IOAS has a
// domain to fill. (The kernel pins once per pages object, which IOAS_COPY
// shares between the areas it links; here every area counts.) The kernel's
// count is system-wide; this one is the calling context's, which is what
// the selftest asks about (its teardown asks on a fresh fd once the first
// is closed, when both are 0).
std::vector<std::pair<uint64_t, uint64_t>> pinned_ranges(const model::Context& ctx,
                                                         uint32_t source) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [start, end)
    for (const auto& [id, obj] : ctx.objects().all()) {
        if (obj->type != model::ObjectType::Ioas) continue;
        const model::Ioas& ioas = static_cast<const model::IoasObject&>(*obj).ioas;
        if (!ioas.domains()) continue;
        ioas.areas().for_each([&](const model::Area& a) {
            if (a.source == source) ranges.push_back({a.user_va, a.user_va + a.length()});
        });
    }
    return ranges;
}

int check_refs(Ucmd& u, const iommu_test_cmd& cmd) {
    uint64_t uptr = cmd.check_refs.uptr, length = cmd.check_refs.length, end;
    if (length % model::kPageSize || uptr % model::kPageSize ||
        __builtin_add_overflow(uptr, length, &end))
        return refuse(-EINVAL, "TEST MD_CHECK_REFS: a range off pages, or one that wraps");
    const auto ranges = pinned_ranges(u.ctx, caller_source(u.ctx, u.caller));
    for (; uptr != end; uptr += model::kPageSize) {
        unsigned pins = 0;
        for (const auto& [from, to] : ranges) pins += uptr + model::kPageSize > from && uptr < to;
        if (pins != cmd.check_refs.refs) return -EIO;
    }
    return 0;
}

// The kernel's mock IOMMU: half-page IO pages, a 2 GiB aperture from 16 MiB.
constexpr uint64_t kMockPageSize = model::kPageSize / 2;
constexpr uint32_t kMockDeviceFlags = MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA;
// Mock devices get groups of their own, numbered far from the host's and
// the emulated ones, and addresses in PCI domain fffd.
constexpr uint32_t kMockGroupBase = 0x40000000;

// "" when all 65536 are taken.
std::string free_mock_address(const model::Topology& topo) {
    char addr[16];
    for (unsigned n = 0; n < 0x10000; ++n) {
        std::snprintf(addr, sizeof(addr), "fffd:%02x:%02x.%x", n >> 8, (n >> 3) & 0x1f, n & 7);
        if (!topo.device(addr)) return addr;
    }
    return {};
}

// mock_dev_create(): a device in a group of its own, behind the mock IOMMU.
std::string add_mock_device(model::Topology& topo, uint32_t flags) {
    model::PciDevice dev;
    dev.address = free_mock_address(topo);
    if (dev.address.empty()) return {};
    dev.model = model::PciDevice::kMockModel;
    dev.group = topo.free_group_id(kMockGroupBase);
    dev.mock_flags = flags;
    topo.add_device(dev);
    model::Group& g = *topo.group(dev.group);
    g.page_size = kMockPageSize;
    g.pgsize_bitmap =
        kMockPageSize | (flags & MOCK_FLAGS_DEVICE_HUGE_IOVA ? 512 * kMockPageSize : 0);
    g.aperture_start = MOCK_APERTURE_START;
    g.aperture_last = MOCK_APERTURE_LAST;
    g.mock_iommu = true;
    return dev.address;
}

// iommufd_selftest_destroy(): detach, unbind, and the mock device goes.
void destroy_mock(model::Context& ctx, model::Topology& topo, uint32_t id) {
    auto* sobj = ctx.objects().get<model::SelftestObject>(id, model::ObjectType::Selftest);
    if (sobj->device_id) model::unbind_device(ctx, topo, sobj->device_id);
    topo.remove_device(sobj->address);
    ctx.objects().destroy(id);
}

// iommufd_test_mock_domain(): the selftest object's id first, then the
// device's, then an automatic HWPT's, as the kernel allocates them.
int mock_domain(Ucmd& u, const iommu_test_cmd& cmd) {
    model::SharedTopology* shared = u.ctx.topology();
    if (!shared) return -ENODEV;
    const uint32_t flags =
        cmd.op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ? cmd.mock_domain_flags.dev_flags : 0;
    auto owned = std::make_unique<model::SelftestObject>();
    model::SelftestObject& sobj = *owned;
    const uint32_t id = u.ctx.objects().add(std::move(owned));
    if (!id) return -ENOMEM;
    std::lock_guard lock(shared->mutex);
    model::Topology& topo = shared->topo;
    if (flags & ~kMockDeviceFlags) {
        u.ctx.objects().destroy(id);
        return refuse(-EINVAL, "TEST MOCK_DOMAIN_FLAGS: unknown flags");
    }
    sobj.address = add_mock_device(topo, flags);
    if (sobj.address.empty()) {
        u.ctx.objects().destroy(id);
        return -ENOSPC;  // the kernel's ida_alloc() when the mock ids run out
    }
    uint32_t dev_id = 0, pt_id = cmd.id;
    int rc = model::bind_device(u.ctx, topo, sobj.address, dev_id);
    if (!rc) sobj.device_id = dev_id;
    if (!rc) rc = model::attach_device(u.ctx, topo, dev_id, pt_id);
    if (rc) {
        destroy_mock(u.ctx, topo, id);
        return rc;
    }
    auto& out = u.cmd<iommu_test_cmd>();
    out.mock_domain.out_stdev_id = id;
    out.mock_domain.out_hwpt_id = pt_id;
    out.mock_domain.out_idev_id = dev_id;
    rc = u.respond(sizeof(out));
    if (rc) destroy_mock(u.ctx, topo, id);
    return rc;
}

// iommufd_test_mock_domain_replace(): the mock device moves to pt_id.
int mock_domain_replace(Ucmd& u, const iommu_test_cmd& cmd) {
    auto* sobj = u.ctx.objects().get<model::SelftestObject>(cmd.id, model::ObjectType::Selftest);
    if (!sobj) return -ENOENT;
    model::SharedTopology* shared = u.ctx.topology();
    uint32_t pt_id = cmd.mock_domain_replace.pt_id;
    {
        std::lock_guard lock(shared->mutex);
        int rc = model::attach_device(u.ctx, shared->topo, sobj->device_id, pt_id);
        if (rc) return rc;
    }
    u.cmd<iommu_test_cmd>().mock_domain_replace.pt_id = pt_id;
    return u.respond(sizeof(iommu_test_cmd));
}

// iommufd_test_md_check_pa(): the mock domain maps each IO page of [iova,
// iova + length) to the memory at uptr. The kernel compares page frames;
// the domain here is the IOAS's areas, so the areas' user addresses are
// compared, in the caller's address space.
int check_map(Ucmd& u, const iommu_test_cmd& cmd) {
    uint64_t iova = cmd.check_map.iova, length = cmd.check_map.length, uptr = cmd.check_map.uptr;
    uint64_t end;
    if (iova % kMockPageSize || length % kMockPageSize || uptr % kMockPageSize ||
        __builtin_add_overflow(uptr, length, &end))
        return refuse(-EINVAL,
                      "TEST MD_CHECK_MAP: a range off the mock page size, or one that wraps");
    auto* hwpt =
        u.ctx.objects().get<model::HwptPagingObject>(cmd.id, model::ObjectType::HwptPaging);
    if (!hwpt) return -ENOENT;
    if (!hwpt->mock) return refuse(-EINVAL, "TEST: the HWPT is not on the mock IOMMU");
    const model::Ioas& ioas = *u.ctx.ioas(hwpt->ioas_id);
    const uint32_t source = caller_source(u.ctx, u.caller);
    for (; length; length -= kMockPageSize, iova += kMockPageSize, uptr += kMockPageSize) {
        std::vector<model::Segment> segs;
        if (ioas.get_segments(iova, kMockPageSize, segs) || segs.size() != 1 ||
            segs[0].source != source || segs[0].user_va != uptr)
            return refuse(-EINVAL, "TEST MD_CHECK_MAP: the mock domain maps other memory there");
    }
    return 0;
}

// iommufd_test_dirty(): arguments, then the mock domain.
int dirty(Ucmd& u, const iommu_test_cmd& cmd) {
    const uint64_t page = cmd.dirty.page_size, length = cmd.dirty.length;
    if (!page || !length || cmd.dirty.iova % page || length % page || !cmd.dirty.uptr)
        return refuse(-EINVAL, "TEST DIRTY: a page size or length of 0, off pages, or no bitmap");
    if (length / page > (16ull << 20) * 8) return -EOVERFLOW;
    auto* hwpt =
        u.ctx.objects().get<model::HwptPagingObject>(cmd.id, model::ObjectType::HwptPaging);
    if (!hwpt) return -ENOENT;
    if (!hwpt->mock) return refuse(-EINVAL, "TEST: the HWPT is not on the mock IOMMU");
    return test_dirty(u, *hwpt, cmd);
}

}  // namespace

void test_cmd_arrays(const model::Context&, const void* c, Footprint& fp) {
    const auto& cmd = *static_cast<const iommu_test_cmd*>(c);
    if (cmd.op == IOMMU_TEST_OP_DIRTY) test_dirty_arrays(cmd, fp);
}

int destroy_test_object(model::Context& ctx, uint32_t id) {
    model::SharedTopology* shared = ctx.topology();
    std::lock_guard lock(shared->mutex);
    destroy_mock(ctx, shared->topo, id);
    return 0;
}

void release_test_objects(model::Context& ctx) {
    std::vector<uint32_t> ids;
    for (const auto& [id, obj] : ctx.objects().all())
        if (obj->type == model::ObjectType::Selftest) ids.push_back(id);
    for (uint32_t id : ids) destroy_test_object(ctx, id);
}

size_t test_memory_limit() {
    return memory_limit.load();
}

int do_test_cmd(Ucmd& u) {
    const auto& cmd = u.cmd<iommu_test_cmd>();
    switch (cmd.op) {
        case IOMMU_TEST_OP_ADD_RESERVED:
            return add_reserved(u, cmd);
        case IOMMU_TEST_OP_MOCK_DOMAIN:
        case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
            return mock_domain(u, cmd);
        case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
            return mock_domain_replace(u, cmd);
        case IOMMU_TEST_OP_MD_CHECK_MAP:
            return check_map(u, cmd);
        case IOMMU_TEST_OP_DIRTY:
            return dirty(u, cmd);
        case IOMMU_TEST_OP_MD_CHECK_REFS:
            return check_refs(u, cmd);
        case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
            // As small as the kernel's batch allows (one pfn and its count).
            if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
                return refuse(-EINVAL, "TEST SET_TEMP_MEMORY_LIMIT: below one pfn and its count");
            memory_limit = cmd.memory_limit.limit;
            return 0;
        default:
            // Accesses and IOTLB checks are not served yet: the kernel's
            // answer to an op it does not know.
            return -EOPNOTSUPP;
    }
}

}  // namespace ioasid::dispatch
