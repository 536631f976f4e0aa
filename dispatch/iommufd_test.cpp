#include "dispatch/iommufd_test.h"

#include <atomic>
#include <cerrno>

#include "ioasid/iommufd_test.h"
#include "model/ioas.h"
#include "model/objects.h"

namespace ioasid::dispatch {

namespace {

std::atomic<size_t> memory_limit{65536};

// The owner of ranges ADD_RESERVED puts in an IOAS: none removes them (the
// kernel reserves them with a NULL owner), they go with the IOAS.
constexpr uint64_t kTestReservedOwner = 4ull << 32;

int add_reserved(Ucmd& u, const iommu_test_cmd& cmd) {
    const uint64_t start = cmd.add_reserved.start, length = cmd.add_reserved.length;
    if (!length) return -EINVAL;
    uint64_t last;
    if (__builtin_add_overflow(start, length - 1, &last)) return -EOVERFLOW;
    model::Ioas* ioas = u.ctx.ioas(cmd.id);
    if (!ioas) return -ENOENT;
    return ioas->add_reserved(start, last, kTestReservedOwner);
}

// How many times the page at `page` of the caller's memory is pinned. The
// kernel counts pins in the page's refcount; ioasidd pins nothing and
// answers from its bookkeeping instead: an area's pages are pinned once
// its IOAS has a domain to fill. The kernel's count is system-wide; this
// one is the calling context's, which is what the selftest asks about (its
// teardown asks on a fresh fd once the first is closed, when both are 0).
unsigned pins_of(const model::Context& ctx, uint32_t source, uint64_t page) {
    unsigned pins = 0;
    for (const auto& [id, obj] : ctx.objects().all()) {
        if (obj->type != model::ObjectType::Ioas) continue;
        const model::Ioas& ioas = static_cast<const model::IoasObject&>(*obj).ioas;
        if (!ioas.domains()) continue;
        ioas.areas().for_each([&](const model::Area& a) {
            if (a.source == source && page + model::kPageSize > a.user_va &&
                page < a.user_va + a.length())
                ++pins;
        });
    }
    return pins;
}

int check_refs(Ucmd& u, const iommu_test_cmd& cmd) {
    uint64_t uptr = cmd.check_refs.uptr, length = cmd.check_refs.length, end;
    if (length % model::kPageSize || uptr % model::kPageSize ||
        __builtin_add_overflow(uptr, length, &end))
        return -EINVAL;
    const uint32_t source = u.ctx.source_for(u.caller.tgid());
    for (; uptr != end; uptr += model::kPageSize)
        if (pins_of(u.ctx, source, uptr) != cmd.check_refs.refs) return -EIO;
    return 0;
}

}  // namespace

size_t test_memory_limit() {
    return memory_limit.load();
}

int do_test_cmd(Ucmd& u) {
    const auto& cmd = u.cmd<iommu_test_cmd>();
    switch (cmd.op) {
        case IOMMU_TEST_OP_ADD_RESERVED:
            return add_reserved(u, cmd);
        case IOMMU_TEST_OP_MD_CHECK_REFS:
            return check_refs(u, cmd);
        case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
            // As small as the kernel's batch allows (one pfn and its count).
            if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t)) return -EINVAL;
            memory_limit = cmd.memory_limit.limit;
            return 0;
        default:
            // Mock domains, accesses, dirty tracking and IOTLB checks are not
            // served yet: the kernel's answer to an op it does not know.
            return -EOPNOTSUPP;
    }
}

}  // namespace ioasid::dispatch
