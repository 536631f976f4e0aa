#include "dispatch/iommufd_dirty.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <vector>

#include "ioasid/iommufd.h"
#include "model/context.h"
#include "model/ioas.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

constexpr uint64_t kIoPage = model::kPageSize / 2;  // the mock IOMMU's

using model::HwptPagingObject;
using model::Ioas;

// What a read of the dirty bits found: the IOVA runs to record, and the
// IO pages whose bits it read (cleared unless NO_CLEAR).
struct DirtyRead {
    std::vector<std::pair<uint64_t, uint64_t>> records;  // iova, length
    std::vector<uint64_t> found;                         // IO page indexes
};

constexpr uint64_t kHugeIoPage = 512 * kIoPage;  // the mock's huge IO page, 1 MiB

// Whether the mock domain maps the 1 MiB block holding `iova`, an IOVA of
// area `a`, with one huge IO page: when its domain has them
// (MOCK_FLAGS_DEVICE_HUGE_IOVA), the area covers the block, and the memory
// behind it is physically contiguous from a 1 MiB-aligned address, which
// is when iommu_map() picks that size. Asked of the memory as it is now;
// the kernel decided when it pinned.
bool huge_block(const model::Context& ctx, const HwptPagingObject& h, const Caller* caller,
                const model::Area& a, uint64_t iova) {
    if (!caller || !(h.pgsize_bitmap & kHugeIoPage)) return false;
    const uint64_t head = iova & ~(kHugeIoPage - 1);
    if (a.start > head || a.last < head + kHugeIoPage - 1) return false;
    const uint32_t pid = ctx.source_pid(a.source);
    return pid && caller->contiguous(pid, a.user_va + (head - a.start), kHugeIoPage);
}

// mock_domain_read_and_clear_dirty() over [iova, iova + size), all of it in
// area `a`: IO page by IO page, and a huge IO page whole, dirty if any of
// its IO pages is. A bit set in a mapping since unmapped (another serial)
// died with it, as the mock's page table entry did.
void read_dirty(const model::Context& ctx, const HwptPagingObject& h, const Caller* caller,
                const model::Area& a, uint64_t iova, uint64_t size, DirtyRead& out) {
    const uint64_t end = iova + size;
    do {
        const uint64_t pgsize = huge_block(ctx, h, caller, a, iova) ? kHugeIoPage : kIoPage;
        const uint64_t head = iova & ~(pgsize - 1);
        bool dirty = false;
        for (uint64_t cur = head; cur < head + pgsize - 1; cur += kIoPage) {
            auto it = h.dirty.find(cur / kIoPage);
            if (it == h.dirty.end() || it->second != a.serial) continue;
            out.found.push_back(cur / kIoPage);
            dirty = true;
        }
        if (dirty) out.records.push_back({iova, pgsize});
        iova += pgsize;
    } while (iova < end);
}

// iommufd_check_iova_range().
int check_range(const Ioas& ioas, const iommu_hwpt_get_dirty_bitmap& cmd) {
    const uint64_t align = ioas.iova_alignment();
    uint64_t last;
    if (!cmd.length) return refuse(-EINVAL, "GET_DIRTY_BITMAP: a length of 0");
    if (__builtin_add_overflow(cmd.iova, cmd.length - 1, &last)) return -EOVERFLOW;
    if ((cmd.iova & (align - 1)) || ((last + 1) & (align - 1)))
        return refuse(-EINVAL, "GET_DIRTY_BITMAP: the range is off the IOAS's alignment");
    if (!cmd.page_size) return refuse(-EINVAL, "GET_DIRTY_BITMAP: a page size of 0");
    if ((cmd.iova & (cmd.page_size - 1)) || ((last + 1) & (cmd.page_size - 1)))
        return refuse(-EINVAL, "GET_DIRTY_BITMAP: the range is off the page size");
    return 0;
}

HwptPagingObject* paging(const model::Context& ctx, uint32_t id) {
    return ctx.objects().get<HwptPagingObject>(id, model::ObjectType::HwptPaging);
}

// iommu_read_and_clear_dirty(): the contiguous areas from cmd.iova on, up
// to a hole. The kernel ignores what its per-chunk walk returns (a hole,
// or tracking that is off), so the command succeeds whatever it found; the
// bits go to the user's bitmap as bytes to OR in.
std::map<uint64_t, uint8_t> dirty_bits(const model::Context& ctx, const Ioas& ioas,
                                       const HwptPagingObject& h, const Caller* caller,
                                       const iommu_hwpt_get_dirty_bitmap& cmd, DirtyRead& read) {
    const uint64_t last = cmd.iova + cmd.length - 1;
    if (h.dirty_tracking) {
        for (uint64_t cur = cmd.iova;;) {
            const model::Area* a = ioas.areas().first_intersecting(cur, cur);
            if (!a) break;
            const uint64_t chunk_last = std::min(last, a->last);
            read_dirty(ctx, h, caller, *a, cur, chunk_last - cur + 1, read);
            if (chunk_last == last) break;
            cur = chunk_last + 1;
        }
    }
    // iova_bitmap's page shift is the lowest set bit of page_size.
    const unsigned shift = static_cast<unsigned>(__builtin_ctzll(cmd.page_size));
    std::map<uint64_t, uint8_t> bytes;
    for (const auto& [iova, len] : read.records) {
        const uint64_t first = (iova - cmd.iova) >> shift;
        const uint64_t lastbit = (std::min(iova + len - 1, last) - cmd.iova) >> shift;
        for (uint64_t bit = first; bit <= lastbit; ++bit)
            bytes[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
    }
    return bytes;
}

}  // namespace

// iommufd_hwpt_set_dirty_tracking(); turning it on forgets what was dirty.
int do_set_dirty_tracking(Ucmd& u) {
    const auto& cmd = u.cmd<iommu_hwpt_set_dirty_tracking>();
    if (cmd.flags & ~uint32_t{IOMMU_HWPT_DIRTY_TRACKING_ENABLE}) return -EOPNOTSUPP;
    HwptPagingObject* h = paging(u.ctx, cmd.hwpt_id);
    if (!h) return -ENOENT;
    if (!h->dirty_ops) return -EOPNOTSUPP;
    const bool enable = cmd.flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
    if (enable) h->dirty.clear();
    h->dirty_tracking = enable;
    return 0;
}

int do_get_dirty_bitmap(Ucmd& u) {
    const auto& cmd = u.cmd<iommu_hwpt_get_dirty_bitmap>();
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR}) || cmd.__reserved)
        return -EOPNOTSUPP;
    HwptPagingObject* h = paging(u.ctx, cmd.hwpt_id);
    if (!h) return -ENOENT;
    const Ioas& ioas = *u.ctx.ioas(h->ioas_id);
    int rc = check_range(ioas, cmd);
    if (rc) return rc;
    if (!h->dirty_ops) return -EOPNOTSUPP;
    DirtyRead read;
    // The kernel sets bits through pinned bitmap pages and skips what it
    // cannot pin: a byte that faults is left out, not an error.
    for (const auto& [byte, mask] : dirty_bits(u.ctx, ioas, *h, &u.caller, cmd, read)) {
        uint8_t v;
        if (u.mem.read(cmd.data + byte, &v, 1)) continue;
        v |= mask;
        u.mem.write(cmd.data + byte, &v, 1);
    }
    if (!(cmd.flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR))
        for (uint64_t index : read.found) h->dirty.erase(index);
    return 0;
}

void dirty_bitmap_arrays(const model::Context& ctx, const void* c, Footprint& fp) {
    const auto& cmd = *static_cast<const iommu_hwpt_get_dirty_bitmap*>(c);
    if ((cmd.flags & ~uint32_t{IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR}) || cmd.__reserved) return;
    const HwptPagingObject* h = paging(ctx, cmd.hwpt_id);
    if (!h || !h->dirty_ops || check_range(*ctx.ioas(h->ioas_id), cmd)) return;
    // Without the caller's memory at hand, a domain with huge IO pages may
    // set bits anywhere in the bitmap.
    if (h->pgsize_bitmap & kHugeIoPage) {
        const uint64_t bits = cmd.length >> __builtin_ctzll(cmd.page_size);
        fp.in.push_back({cmd.data, (bits + 7) / 8});
        fp.out.push_back({cmd.data, (bits + 7) / 8});
        return;
    }
    DirtyRead read;
    const auto bytes = dirty_bits(ctx, *ctx.ioas(h->ioas_id), *h, nullptr, cmd, read);
    if (bytes.empty()) return;
    const uint64_t first = bytes.begin()->first, len = bytes.rbegin()->first - first + 1;
    fp.in.push_back({cmd.data + first, len});
    fp.out.push_back({cmd.data + first, len});
}

// iommufd_test_dirty(). The kernel looks the IO page up by iova / page_size,
// not by the IO page size; with the page size the selftest passes (the IO
// page size) the two agree, and this follows the kernel either way.
int test_dirty(Ucmd& u, HwptPagingObject& h, const iommu_test_cmd& cmd) {
    const uint64_t iova = cmd.dirty.iova, length = cmd.dirty.length, page = cmd.dirty.page_size;
    if (!h.dirty_tracking) return refuse(-EINVAL, "DIRTY: the HWPT does not track dirty pages");
    const uint64_t max = length / page;
    std::vector<uint8_t> bitmap((max + 7) / 8);
    if (u.mem.read(cmd.dirty.uptr, bitmap.data(), bitmap.size())) return -EFAULT;
    const Ioas& ioas = *u.ctx.ioas(h.ioas_id);
    uint64_t count = 0;
    for (uint64_t i = 0; i < max; ++i) {
        if (!(bitmap[i / 8] & (1u << (i % 8)))) continue;
        const uint64_t index = (iova + i * page) / page;
        const model::Area* a = ioas.areas().first_intersecting(index * kIoPage, index * kIoPage);
        if (!a) continue;
        h.dirty[index] = a->serial;
        ++count;
    }
    auto& out = u.cmd<iommu_test_cmd>();
    out.dirty.out_nr_dirty = count;
    return u.respond(sizeof(out));
}

void test_dirty_arrays(const iommu_test_cmd& cmd, Footprint& fp) {
    const uint64_t page = cmd.dirty.page_size, length = cmd.dirty.length;
    if (!page || !length || cmd.dirty.iova % page || length % page || !cmd.dirty.uptr) return;
    if (length / page > (16ull << 20) * 8) return;
    fp.in.push_back({cmd.dirty.uptr, (length / page + 7) / 8});
}

}  // namespace ioasid::dispatch
