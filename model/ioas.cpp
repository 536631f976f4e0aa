#include "model/ioas.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <limits>

#include "model/refusal.h"

namespace ioasid::model {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

uint64_t roundup_pow_of_two(uint64_t v) {
    return v <= 1 ? 1 : uint64_t{1} << std::bit_width(v - 1);
}

// The kernel's __alloc_iova_check_range(): align the start up, keep the
// user pointer's offset in the page, and see whether length still fits.
bool check_range(uint64_t& start, uint64_t last, uint64_t length, uint64_t align,
                 uint64_t page_offset) {
    uint64_t aligned;
    if (__builtin_add_overflow(start, align - 1, &aligned)) return false;
    aligned &= ~(align - 1);
    aligned |= page_offset;
    if (aligned >= last || last - aligned < length - 1) return false;
    start = aligned;
    return true;
}

// Merges sorted, possibly overlapping or adjacent ranges into maximal spans
// clipped to [lo, hi], like the kernel's interval_tree_span_iter "used" spans.
template <typename It>
std::vector<IovaRange> merged_spans(It begin, It end, uint64_t lo, uint64_t hi) {
    std::vector<IovaRange> out;
    for (It it = begin; it != end; ++it) {
        if (it->last < lo || it->start > hi) continue;
        uint64_t s = std::max(it->start, lo);
        uint64_t l = std::min(it->last, hi);
        if (!out.empty() && out.back().last != kU64Max && s <= out.back().last + 1)
            out.back().last = std::max(out.back().last, l);
        else
            out.push_back({s, l});
    }
    return out;
}

}  // namespace

bool Ioas::reserved_intersects(uint64_t start, uint64_t last) const {
    return std::any_of(reserved_.begin(), reserved_.end(),
                       [&](const Reserved& r) { return r.start <= last && r.last >= start; });
}

bool Ioas::allowed_intersects(uint64_t start, uint64_t last) const {
    return std::any_of(allowed_.begin(), allowed_.end(),
                       [&](const IovaRange& r) { return r.start <= last && r.last >= start; });
}

int Ioas::map(uint64_t user_va, uint64_t length, uint8_t prot, bool fixed, uint32_t source,
              uint64_t& iova) {
    // iopt_alloc_pages(): the size_t arithmetic of the page count must not wrap.
    if (length == 0 || length > kU64Max - kPageSize)
        return refuse(-EINVAL, "map: a length of 0, or one whose pages wrap");
    uint64_t end;
    if (__builtin_add_overflow(user_va, length, &end)) return -EOVERFLOW;
    // Never reused: a charge keyed by it must not name a later map's pages.
    static std::atomic<uint64_t> last_pages{0};
    const Segment seg{user_va, length, source, (prot & kProtWrite) != 0, ++last_pages};
    return map_segments({&seg, 1}, length, prot, fixed, iova);
}

int Ioas::check_iova(uint64_t iova, uint64_t length) const {
    if (iova & (iova_alignment_ - 1))
        return refuse(-EINVAL, "map: an IOVA off the IOAS's alignment");
    uint64_t last;
    if (__builtin_add_overflow(iova, length - 1, &last)) return -EOVERFLOW;
    if (reserved_intersects(iova, last))
        return refuse(-EINVAL, "map: the range meets a reserved one");
    if (areas_.first_intersecting(iova, last)) return -EEXIST;
    return 0;
}

int Ioas::map_segments(std::span<const Segment> segs, uint64_t length, uint8_t prot, bool fixed,
                       uint64_t& iova) {
    if ((length & (iova_alignment_ - 1)) || length == 0)
        return refuse(-EINVAL, "map: a length of 0 or off the IOAS's alignment");
    int rc = fixed ? check_iova(iova, length) : alloc_iova(segs.front().user_va, length, iova);
    if (rc) return rc;

    // iopt_insert_area() per segment; validate all before inserting any, which
    // leaves the same state as the kernel's insert-then-abort on failure.
    uint64_t cur = iova;
    for (const Segment& s : segs) {
        if ((prot & kProtWrite) && !s.writable)
            return refuse(-EPERM, "COPY: a writable copy of a read-only source");
        if ((s.user_va % kPageSize) & (iova_alignment_ - 1))
            return refuse(-EINVAL, "COPY: the source's offset is off the IOAS's alignment");
        uint64_t last;
        if (__builtin_add_overflow(cur, s.length - 1, &last)) return -EOVERFLOW;
        cur += s.length;
    }
    cur = iova;
    for (const Segment& s : segs) {
        areas_.insert(Area{cur, cur + s.length - 1, s.user_va, s.source, prot, s.writable,
                           ++last_serial_, s.pages});
        cur += s.length;
    }
    if (mirrors_.empty()) return 0;
    cur = iova;
    for (size_t i = 0; i < segs.size(); cur += segs[i].length, ++i) {
        rc = mirror_map(*areas_.first_intersecting(cur, cur));
        if (rc == 0) continue;
        // Undo: the mirrored areas before this one, then every new area.
        for (uint64_t at = iova; at < cur;) {
            const Area a = *areas_.first_intersecting(at, at);
            mirror_unmap(a);
            at = a.last + 1;
        }
        for (uint64_t at = iova; at < iova + length;) {
            const uint64_t next = areas_.first_intersecting(at, at)->last + 1;
            areas_.erase(at);
            at = next;
        }
        return rc;
    }
    return 0;
}

int Ioas::mirror_map(const Area& area) {
    for (size_t i = 0; i < mirrors_.size(); ++i) {
        int rc = mirrors_[i].mirror->map(area);
        if (rc == 0) continue;
        while (i--) mirrors_[i].mirror->unmap(area);
        return rc;
    }
    return 0;
}

void Ioas::mirror_unmap(const Area& area) {
    for (const Mirror& m : mirrors_) m.mirror->unmap(area);
}

int Ioas::add_mirror(uint64_t key, AreaMirror& mirror) {
    std::vector<Area> held;
    areas_.for_each([&](const Area& a) { held.push_back(a); });
    for (size_t i = 0; i < held.size(); ++i) {
        int rc = mirror.fill(held[i]);
        if (rc == 0) continue;
        while (i--) mirror.unmap(held[i]);
        return rc;
    }
    mirrors_.push_back({key, &mirror});
    return 0;
}

size_t Ioas::mirrors() const {
    return std::count_if(mirrors_.begin(), mirrors_.end(),
                         [](const Mirror& m) { return m.key != kDomainPinsKey; });
}

void Ioas::remove_mirror(uint64_t key) {
    auto it = std::find_if(mirrors_.begin(), mirrors_.end(),
                           [&](const Mirror& m) { return m.key == key; });
    if (it == mirrors_.end()) return;
    AreaMirror& mirror = *it->mirror;
    mirrors_.erase(it);
    areas_.for_each([&](const Area& a) { mirror.unmap(a); });
}

std::vector<IovaRange> Ioas::allowed_spans() const {
    constexpr uint64_t lo = kPageSize, hi = kU64Max - kPageSize;
    if (allowed_.empty()) return {{lo, hi}};
    return merged_spans(allowed_.begin(), allowed_.end(), lo, hi);
}

// [start, last] minus the reserved ranges: the windows in which the holes
// between areas are the kernel's holes of reserved ∪ areas.
std::vector<IovaRange> Ioas::windows(uint64_t start, uint64_t last) const {
    std::vector<IovaRange> out;
    uint64_t pos = start;
    bool done = false;
    for (const IovaRange& r : merged_spans(reserved_.begin(), reserved_.end(), start, last)) {
        if (r.start > pos) out.push_back({pos, r.start - 1});
        if (r.last == last) {
            done = true;
            break;
        }
        pos = r.last + 1;
    }
    if (!done) out.push_back({pos, last});
    return out;
}

bool Ioas::alloc_in_window(uint64_t from, uint64_t to, uint64_t length, uint64_t align,
                           uint64_t page_offset, uint64_t& iova) const {
    Hole h;
    while (areas_.find_hole(from, to, length, h)) {
        uint64_t s = h.start;
        if (check_range(s, h.last, length, align, page_offset)) {
            iova = s;
            return true;
        }
        if (h.last >= to) break;
        from = h.last + 1;
    }
    return false;
}

// iopt_alloc_iova(): the lowest fitting hole inside the allowed ranges, never
// IOVA 0, aligned like the user pointer to raise the chance of huge IOPTEs.
int Ioas::alloc_iova(uint64_t uptr, uint64_t length, uint64_t& iova) const {
    uint64_t page_offset = uptr % kPageSize;
    if (length == 0 || length >= kU64Max / 2) return -EOVERFLOW;
    uint64_t align = roundup_pow_of_two(length);
    if (uptr) align = std::min(align, uint64_t{1} << std::countr_zero(uptr));
    if (align >= kHugePageSize) align = kHugePageSize;
    if (align < iova_alignment_) return -EINVAL;

    for (IovaRange span : allowed_spans()) {
        if (!check_range(span.start, span.last, length, align, page_offset)) continue;
        for (const IovaRange& w : windows(span.start, span.last))
            if (alloc_in_window(w.start, w.last, length, align, page_offset, iova)) return 0;
    }
    return -ENOSPC;
}

int Ioas::get_segments(uint64_t iova, uint64_t length, std::vector<Segment>& out) const {
    if (length == 0) return refuse(-EINVAL, "COPY: a length of 0");
    uint64_t last;
    if (__builtin_add_overflow(iova, length - 1, &last)) return -EOVERFLOW;
    return covering_segments(iova, last, 0, out) ? 0 : -ENOENT;
}

bool Ioas::covering_segments(uint64_t iova, uint64_t last, uint8_t need,
                             std::vector<Segment>& out) const {
    out.clear();
    uint64_t cur = iova;
    const Area* a = areas_.first_ending_at_or_after(cur);
    while (a && a->start <= cur && (a->prot & need) == need) {
        uint64_t seg_last = std::min(last, a->last);
        out.push_back({a->user_va + (cur - a->start), seg_last - cur + 1, a->source,
                       a->pages_writable, a->pages});
        if (seg_last == last) return true;
        cur = seg_last + 1;
        a = areas_.next_after(a->start);
    }
    out.clear();
    return false;
}

int Ioas::unmap(uint64_t iova, uint64_t length, uint64_t& unmapped) {
    unmapped = 0;
    if (length == 0) return refuse(-EINVAL, "UNMAP: a length of 0");
    uint64_t last;
    if (__builtin_add_overflow(iova, length - 1, &last)) return -EOVERFLOW;
    uint64_t start = iova;
    while (const Area* a = areas_.first_intersecting(start, last)) {
        const uint64_t a_start = a->start, a_last = a->last;
        if (a_start < start || a_last > last) return -ENOENT;
        if (!mirrors_.empty()) mirror_unmap(*a);
        areas_.erase(a_start);
        unmapped += a_last - a_start + 1;
        if (a_last >= last) break;
        start = a_last + 1;
    }
    return 0;
}

int Ioas::unmap_all(uint64_t& unmapped) {
    unmapped = 0;
    areas_.for_each([&](const Area& a) {
        unmapped += a.length();
        mirror_unmap(a);
    });
    areas_.clear();
    return 0;
}

int validate_ranges(const std::vector<IovaRange>& ranges) {
    std::vector<IovaRange> sorted(ranges);
    std::sort(sorted.begin(), sorted.end(),
              [](const IovaRange& a, const IovaRange& b) { return a.start < b.start; });
    for (size_t i = 0; i < sorted.size(); ++i) {
        if (sorted[i].start >= sorted[i].last)
            return refuse(-EINVAL, "ALLOW_IOVAS: a range that ends at or before its start");
        if (i && sorted[i].start <= sorted[i - 1].last)
            return refuse(-EINVAL, "ALLOW_IOVAS: ranges that overlap");
    }
    return 0;
}

int Ioas::set_allowed(std::vector<IovaRange> ranges) {
    if (int rc = validate_ranges(ranges)) return rc;
    for (const IovaRange& r : ranges)
        if (reserved_intersects(r.start, r.last)) return -EADDRINUSE;
    std::sort(ranges.begin(), ranges.end(),
              [](const IovaRange& a, const IovaRange& b) { return a.start < b.start; });
    allowed_ = std::move(ranges);
    return 0;
}

int Ioas::add_reserved(uint64_t start, uint64_t last, uint64_t owner) {
    if (areas_.first_intersecting(start, last) || allowed_intersects(start, last))
        return -EADDRINUSE;
    auto pos = std::upper_bound(reserved_.begin(), reserved_.end(), start,
                                [](uint64_t s, const Reserved& r) { return s < r.start; });
    reserved_.insert(pos, Reserved{start, last, owner});
    return 0;
}

void Ioas::remove_reserved(uint64_t owner) {
    std::erase_if(reserved_, [&](const Reserved& r) { return r.owner == owner; });
}

std::vector<IovaRange> Ioas::usable_ranges() const {
    return windows(0, kU64Max);
}

int Ioas::check_alignment(uint64_t align) const {
    const uint64_t mask = align - 1;
    int rc = 0;
    areas_.for_each([&](const Area& a) {
        if ((a.start & mask) || (a.length() & mask) || ((a.user_va % kPageSize) & mask))
            rc = -EADDRINUSE;
    });
    return rc;
}

int Ioas::translate(uint64_t iova, uint64_t length, bool write, std::vector<Segment>& out) const {
    out.clear();
    if (!length) return 0;
    uint64_t last;
    if (__builtin_add_overflow(iova, length - 1, &last)) return -EFAULT;
    return covering_segments(iova, last, write ? kProtWrite : kProtRead, out) ? 0 : -EFAULT;
}

int Ioas::add_domain(uint64_t key, const DomainGeometry& g) {
    const uint64_t align = std::max(g.page_size, iova_alignment_);
    if (align > kPageSize) return -EINVAL;
    if (align != iova_alignment_) {
        int rc = check_alignment(align);
        if (rc) return rc;
    }
    int rc = 0;
    if (g.aperture_start != 0) rc = add_reserved(0, g.aperture_start - 1, key);
    if (!rc && g.aperture_last != kU64Max) rc = add_reserved(g.aperture_last + 1, kU64Max, key);
    if (rc) {
        remove_reserved(key);
        return rc;
    }
    // iopt_table_add_domain() fills the first domain, pinning every area.
    if (domains_.empty() && domain_pins_ && (rc = add_mirror(kDomainPinsKey, *domain_pins_))) {
        remove_reserved(key);
        return rc;
    }
    domains_.push_back({key, g.page_size, g.pgsize_bitmap ? g.pgsize_bitmap : g.page_size});
    iova_alignment_ = align;
    return 0;
}

void Ioas::remove_domain(uint64_t key) {
    remove_reserved(key);
    std::erase_if(domains_, [&](const Domain& d) { return d.key == key; });
    if (domains_.empty()) remove_mirror(kDomainPinsKey);  // the last domain's pins, if on
    recalculate_alignment();  // only ever shrinks here, so it cannot fail
}

int Ioas::recalculate_alignment() {
    uint64_t align = disable_large_pages_ ? kPageSize : 1;
    for (const Domain& d : domains_) align = std::max(align, d.page_size);
    if (align > iova_alignment_) {
        int rc = check_alignment(align);
        if (rc) return rc;
    }
    iova_alignment_ = align;
    return 0;
}

int Ioas::set_huge_pages(bool enable) {
    if (enable) {
        disable_large_pages_ = false;
        return recalculate_alignment();
    }
    if (disable_large_pages_) return 0;
    // iopt_disable_large_pages(): not once domains hold mapped pages.
    if (!domains_.empty() && !areas_.empty()) return -EINVAL;
    disable_large_pages_ = true;
    int rc = recalculate_alignment();
    if (rc) disable_large_pages_ = false;
    return rc;
}

uint64_t Ioas::pgsize_bitmap() const {
    uint64_t sizes = kU64Max;
    for (const Domain& d : domains_) sizes &= d.pgsize_bitmap;
    return sizes;
}

// iopt_area_split() at `iova`: the area holding it ends there and a new one
// starts after it. Nothing to do at an area's edge or outside any area.
int Ioas::cut(uint64_t iova) {
    const Area* a = areas_.first_intersecting(iova, iova);
    if (!a || iova == a->start || iova == a->last) return 0;
    const uint64_t new_start = iova + 1, align = iova_alignment_;
    if ((new_start & (align - 1)) || ((a->user_va + (new_start - a->start)) & (align - 1)))
        return -EINVAL;
    // A domain could have been filled with huge pages; and a mirror (a VFIO
    // container) cannot split the mapping it was given.
    if (!domains_.empty() && !disable_large_pages_) return -EINVAL;
    if (!std::all_of(mirrors_.begin(), mirrors_.end(),
                     [](const Mirror& m) { return m.mirror->splits(); }))
        return -EINVAL;
    const Area whole = *a;
    Area lhs = whole, rhs = whole;
    lhs.last = iova;
    rhs.start = new_start;
    rhs.user_va += new_start - whole.start;
    areas_.erase(whole.start);
    areas_.insert(lhs);
    areas_.insert(rhs);
    for (const Mirror& m : mirrors_) m.mirror->split(whole, lhs, rhs);
    return 0;
}

}  // namespace ioasid::model
