// The areas of one IOAS, ordered by IOVA.
//
// A B+tree: leaves hold up to 32 areas sorted by IOVA, inner nodes up to 32
// children together with each child's summary (first start, last end and the
// largest hole between two of its areas). Wide nodes keep a lookup among a
// million areas to a couple of cache misses, where a binary tree takes a
// miss per level; the summaries let the IOVA allocator find the lowest hole
// of a given size in O(log n), where the kernel walks the holes linearly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ioasid::model {

// What the caller's memory behind an area looks like. `source` names the
// address space (process) the user_va belongs to; the context keeps the table.
struct Area {
    uint64_t start = 0;
    uint64_t last = 0;  // inclusive
    uint64_t user_va = 0;
    uint32_t source = 0;
    uint8_t prot = 0;             // kProtRead | kProtWrite
    bool pages_writable = false;  // the memory was mapped writeable when first mapped
    // Unique per IOAS over its life: tells a mapping from a later one at the
    // same IOVAs (a domain's dirty bits die with the mapping they were set in).
    uint64_t serial = 0;
    // Which IOAS_MAP's pages it holds (the kernel's iopt_pages, which pins
    // and charges them): new for each map of user memory, kept by IOAS_COPY
    // and by cuts. Unique in the daemon.
    uint64_t pages = 0;

    uint64_t length() const { return last - start + 1; }
};

inline constexpr uint8_t kProtRead = 1;
inline constexpr uint8_t kProtWrite = 2;

// An inclusive hole [start, last] between areas.
struct Hole {
    uint64_t start;
    uint64_t last;
};

class AreaTree {
  public:
    AreaTree();
    ~AreaTree();
    AreaTree(const AreaTree&) = delete;
    AreaTree& operator=(const AreaTree&) = delete;
    AreaTree(AreaTree&&) noexcept;
    AreaTree& operator=(AreaTree&&) noexcept;

    // The caller guarantees the area overlaps no other.
    void insert(const Area& area);
    // Removes the area that starts exactly at `start`; false if there is none.
    bool erase(uint64_t start);
    void clear();

    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    // The lowest area whose last IOVA is >= iova (the one holding iova, or the next).
    const Area* first_ending_at_or_after(uint64_t iova) const;
    // The lowest area intersecting [start, last], if any.
    const Area* first_intersecting(uint64_t start, uint64_t last) const;
    // The area with the smallest start greater than `start`.
    const Area* next_after(uint64_t start) const;
    const Area* first() const;

    // The lowest hole inside [from, to] (clipped to it) of at least `min_size`
    // bytes; min_size >= 1. Returns false when there is none.
    bool find_hole(uint64_t from, uint64_t to, uint64_t min_size, Hole& out) const;

    // Every area in IOVA order.
    void for_each(const std::function<void(const Area&)>& fn) const;

    struct Node;  // opaque; public only so the tree's helpers can name it

  private:
    Node* root_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ioasid::model
