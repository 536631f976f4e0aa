// An I/O address space: what IOVAs are mapped to which user memory, which
// IOVAs are reserved (by devices' reserved regions) and which ones the user
// allowed the allocator to pick from. Pure bookkeeping: no memory is touched.
//
// Every operation returns 0 or a negative errno with the kernel's choice of
// errno for the same input (drivers/iommu/iommufd/io_pagetable.c is the
// reference for the order in which conditions are checked).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/area_tree.h"

namespace ioasid::model {

inline constexpr uint64_t kPageSize = 4096;
// The kernel caps the alignment it tries to give an allocated IOVA at the
// transparent huge page size (x86-64: 2 MiB).
inline constexpr uint64_t kHugePageSize = 2ull << 20;

struct IovaRange {
    uint64_t start;
    uint64_t last;  // inclusive
};

// A run of user memory, as an area hands it to IOAS_COPY.
struct Segment {
    uint64_t user_va;
    uint64_t length;
    uint32_t source;
    bool writable;
    uint64_t pages;  // Area::pages
};

// Owners of reserved ranges, apart from those a test adds: the reserved
// regions of an attached device, and the outside of a domain's aperture.
inline constexpr uint64_t device_key(uint32_t device_id) {
    return (1ull << 32) | device_id;
}
inline constexpr uint64_t domain_key(uint32_t hwpt_id) {
    return (2ull << 32) | hwpt_id;
}

// A domain that really maps (a forwarded group's VFIO container): the IOAS
// hands it every area it holds, gains or loses while the mirror is on, as
// the kernel's io_pagetable fills its domains. A map may fail (-errno): the
// IOAS then does not take the area, or the mirror.
class AreaMirror {
  public:
    virtual ~AreaMirror() = default;
    virtual int map(const Area& area) = 0;
    virtual void unmap(const Area& area) = 0;
    // An area the IOAS held before the mirror came (add_mirror).
    virtual int fill(const Area& area) { return map(area); }
    // Whether it can follow an area cut in two (a VFIO container cannot
    // split a mapping it was given); split() is called only if so.
    virtual bool splits() const { return false; }
    virtual void split(const Area& /*whole*/, const Area& /*lhs*/, const Area& /*rhs*/) {}
};

// The pins the domains of an IOAS hold for its areas, once however many
// domains there are (the kernel's iopt_pages): on while it has a domain.
inline constexpr uint64_t kDomainPinsKey = 4ull << 32;

inline constexpr uint64_t group_key(uint32_t group) {
    return (3ull << 32) | group;
}

// What an IOMMU domain asks of the IOAS it maps (iommu_domain geometry and
// the smallest page size of its pgsize_bitmap).
struct DomainGeometry {
    uint64_t page_size = kPageSize;
    uint64_t aperture_start = 0;
    uint64_t aperture_last = ~0ull;
    bool mock = false;  // made by the selftest's mock IOMMU
    // The IO page sizes it maps with (iommu_domain pgsize_bitmap); 0: just
    // page_size.
    uint64_t pgsize_bitmap = 0;
};

// The checks IOAS_ALLOW_IOVAS applies to the user's list: every range must
// have start < last and no two may overlap. 0 or -EINVAL.
int validate_ranges(const std::vector<IovaRange>& ranges);

class Ioas {
  public:
    // IOAS_MAP. On success `iova` holds the IOVA used (allocated unless fixed).
    int map(uint64_t user_va, uint64_t length, uint8_t prot, bool fixed, uint32_t source,
            uint64_t& iova);
    // The user memory behind [iova, iova + length), which must be covered by
    // contiguous areas (the first half of IOAS_COPY).
    int get_segments(uint64_t iova, uint64_t length, std::vector<Segment>& out) const;
    // Maps segments back to back (the second half of IOAS_COPY).
    int map_segments(std::span<const Segment> segs, uint64_t length, uint8_t prot, bool fixed,
                     uint64_t& iova);
    // A device's DMA through this IOAS: the user memory behind
    // [iova, iova + length), or -EFAULT if any of it is unmapped or lacks
    // the permission (an IOMMU fault).
    int translate(uint64_t iova, uint64_t length, bool write, std::vector<Segment>& out) const;
    // IOAS_UNMAP of [iova, iova + length): whole areas only. Areas are removed
    // in IOVA order until one sticks out of the range, as the kernel does.
    int unmap(uint64_t iova, uint64_t length, uint64_t& unmapped);
    int unmap_all(uint64_t& unmapped);

    // IOAS_ALLOW_IOVAS: ranges must be valid (start < last) and disjoint.
    int set_allowed(std::vector<IovaRange> ranges);
    const std::vector<IovaRange>& allowed() const { return allowed_; }

    // Reserved ranges belong to an owner (a device, a test) that removes them.
    int add_reserved(uint64_t start, uint64_t last, uint64_t owner);
    void remove_reserved(uint64_t owner);
    // iopt_table_add_domain(): the IOVA alignment grows to the domain's page
    // size (EADDRINUSE if an area does not fit it; EINVAL above PAGE_SIZE)
    // and IOVAs outside the aperture become reserved.
    // The first domain also puts the domain pins on (see set_domain_pins),
    // which may refuse the IOAS's areas: the domain does not join then.
    int add_domain(uint64_t key, const DomainGeometry& geometry);
    void remove_domain(uint64_t key);
    // What pinning the areas for the domains costs and checks (the daemon's
    // memory accounting); a mirror the IOAS owns, on while it has domains.
    void set_domain_pins(std::unique_ptr<AreaMirror> pins) { domain_pins_ = std::move(pins); }
    size_t domains() const { return domains_.size(); }
    // The page sizes every domain maps with (all bits when none).
    uint64_t pgsize_bitmap() const;

    // Mirrors get every area now held (fill; undone if one fails), then
    // every change until removed, which unmaps them all.
    int add_mirror(uint64_t key, AreaMirror& mirror);
    void remove_mirror(uint64_t key);
    // The mirrors that map (VFIO containers), not counting the domain pins.
    size_t mirrors() const;

    // IOAS_IOVA_RANGES: the holes between reserved ranges.
    std::vector<IovaRange> usable_ranges() const;
    uint64_t iova_alignment() const { return iova_alignment_; }

    // OPTION HUGE_PAGES.
    bool huge_pages() const { return !disable_large_pages_; }
    int set_huge_pages(bool enable);
    // Splits the area holding `iova` after it (VFIO compatibility's TYPE1
    // unmap inside a mapping). The halves keep the area's serial.
    int cut(uint64_t iova);

    const AreaTree& areas() const { return areas_; }

  private:
    struct Reserved {
        uint64_t start;
        uint64_t last;
        uint64_t owner;
    };

    AreaTree areas_;
    std::vector<IovaRange> allowed_;  // sorted, disjoint
    std::vector<Reserved> reserved_;  // sorted by start, may overlap
    struct Domain {
        uint64_t key;
        uint64_t page_size;
        uint64_t pgsize_bitmap;
    };
    std::vector<Domain> domains_;
    struct Mirror {
        uint64_t key;
        AreaMirror* mirror;
    };
    std::vector<Mirror> mirrors_;
    std::unique_ptr<AreaMirror> domain_pins_;
    uint64_t iova_alignment_ = 1;  // software tables start unaligned
    bool disable_large_pages_ = false;
    uint64_t last_serial_ = 0;  // of the last area made

    // The areas' memory behind [iova, last] when contiguous areas with at
    // least the `need` protection cover all of it; else false and nothing.
    bool covering_segments(uint64_t iova, uint64_t last, uint8_t need,
                           std::vector<Segment>& out) const;
    bool reserved_intersects(uint64_t start, uint64_t last) const;
    bool allowed_intersects(uint64_t start, uint64_t last) const;
    int check_iova(uint64_t iova, uint64_t length) const;
    int alloc_iova(uint64_t uptr, uint64_t length, uint64_t& iova) const;
    bool alloc_in_window(uint64_t from, uint64_t to, uint64_t length, uint64_t align,
                         uint64_t page_offset, uint64_t& iova) const;
    std::vector<IovaRange> allowed_spans() const;
    std::vector<IovaRange> windows(uint64_t start, uint64_t last) const;
    int check_alignment(uint64_t align) const;
    // An area reaches every mirror or none (-errno of the one that failed).
    int mirror_map(const Area& area);
    void mirror_unmap(const Area& area);
    int recalculate_alignment();
};

}  // namespace ioasid::model
