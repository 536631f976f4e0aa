#include "model/area_tree.h"

#include <algorithm>

namespace ioasid::model {

struct AreaTree::Node {
    Area area;
    uint32_t priority;
    Node* left;
    Node* right;
    // Subtree summary: leftmost start, rightmost last, largest hole between two
    // areas inside the subtree (in bytes; 0 when there is none).
    uint64_t min_start;
    uint64_t max_last;
    uint64_t max_gap;
};

// Nodes come from chunks rather than one malloc each: at a million areas the
// per-allocation header would be a fifth of the footprint.
class AreaTree::Pool {
public:
    Node* get() {
        if (!free_) grow();
        Node* n = free_;
        free_ = n->left;
        return n;
    }
    void put(Node* n) {
        n->left = free_;
        free_ = n;
    }

private:
    static constexpr size_t kChunk = 1024;
    std::vector<std::unique_ptr<Node[]>> chunks_;
    Node* free_ = nullptr;

    void grow() {
        chunks_.push_back(std::make_unique<Node[]>(kChunk));
        Node* c = chunks_.back().get();
        for (size_t i = 0; i < kChunk; ++i) put(&c[i]);
    }
};

AreaTree::AreaTree() : pool_(std::make_unique<Pool>()) {}
AreaTree::~AreaTree() = default;
AreaTree::AreaTree(AreaTree&&) noexcept = default;
AreaTree& AreaTree::operator=(AreaTree&&) noexcept = default;

size_t AreaTree::node_bytes() { return sizeof(Node); }

uint32_t AreaTree::next_priority() {
    // xorshift32: priorities only need to be well spread, not unpredictable.
    seed_ ^= seed_ << 13;
    seed_ ^= seed_ >> 17;
    seed_ ^= seed_ << 5;
    return seed_;
}

static void update(AreaTree::Node* n) {
    n->min_start = n->left ? n->left->min_start : n->area.start;
    n->max_last = n->right ? n->right->max_last : n->area.last;
    uint64_t gap = 0;
    if (n->left) gap = std::max(n->left->max_gap, n->area.start - n->left->max_last - 1);
    if (n->right) {
        gap = std::max(gap, n->right->max_gap);
        gap = std::max(gap, n->right->min_start - n->area.last - 1);
    }
    n->max_gap = gap;
}

static AreaTree::Node* rotate_right(AreaTree::Node* n) {
    AreaTree::Node* l = n->left;
    n->left = l->right;
    l->right = n;
    update(n);
    update(l);
    return l;
}

static AreaTree::Node* rotate_left(AreaTree::Node* n) {
    AreaTree::Node* r = n->right;
    n->right = r->left;
    r->left = n;
    update(n);
    update(r);
    return r;
}

AreaTree::Node* AreaTree::insert_at(Node* n, Node* fresh) {
    if (!n) return fresh;
    if (fresh->area.start < n->area.start) {
        n->left = insert_at(n->left, fresh);
        if (n->left->priority > n->priority) return rotate_right(n);
    } else {
        n->right = insert_at(n->right, fresh);
        if (n->right->priority > n->priority) return rotate_left(n);
    }
    update(n);
    return n;
}

void AreaTree::insert(const Area& area) {
    Node* fresh = pool_->get();
    *fresh = Node{area, next_priority(), nullptr, nullptr, area.start, area.last, 0};
    root_ = insert_at(root_, fresh);
    ++size_;
}

AreaTree::Node* AreaTree::erase_at(Node* n, uint64_t start, bool& found) {
    if (!n) return nullptr;
    if (start < n->area.start) {
        n->left = erase_at(n->left, start, found);
    } else if (start > n->area.start) {
        n->right = erase_at(n->right, start, found);
    } else {
        found = true;
        if (!n->left || !n->right) {
            Node* child = n->left ? n->left : n->right;
            pool_->put(n);
            return child;
        }
        // Rotate the node down towards a leaf, keeping the heap order.
        if (n->left->priority > n->right->priority) {
            n = rotate_right(n);
            n->right = erase_at(n->right, start, found);
        } else {
            n = rotate_left(n);
            n->left = erase_at(n->left, start, found);
        }
    }
    update(n);
    return n;
}

bool AreaTree::erase(uint64_t start) {
    bool found = false;
    root_ = erase_at(root_, start, found);
    if (found) --size_;
    return found;
}

void AreaTree::clear() {
    root_ = nullptr;
    size_ = 0;
    pool_ = std::make_unique<Pool>();
}

const Area* AreaTree::first() const {
    const Node* n = root_;
    if (!n) return nullptr;
    while (n->left) n = n->left;
    return &n->area;
}

const Area* AreaTree::next_after(uint64_t start) const {
    const Node* best = nullptr;
    for (const Node* n = root_; n;) {
        if (n->area.start > start) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best ? &best->area : nullptr;
}

const Area* AreaTree::first_ending_at_or_after(uint64_t iova) const {
    // Areas are disjoint and sorted, so their lasts are sorted too.
    const Node* best = nullptr;
    for (const Node* n = root_; n;) {
        if (n->area.last >= iova) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best ? &best->area : nullptr;
}

const Area* AreaTree::first_intersecting(uint64_t start, uint64_t last) const {
    const Area* a = first_ending_at_or_after(start);
    return (a && a->start <= last) ? a : nullptr;
}

const AreaTree::Node* AreaTree::gap_search(const Node* n, uint64_t after, uint64_t min_size,
                                           bool has_pred, uint64_t pred_last,
                                           uint64_t& hole_start) const {
    while (n) {
        uint64_t best = n->max_gap;
        if (has_pred) best = std::max(best, n->min_start - pred_last - 1);
        if (best < min_size) return nullptr;
        if (n->area.start > after) {
            if (const Node* hit =
                    gap_search(n->left, after, min_size, has_pred, pred_last, hole_start))
                return hit;
            bool own_pred = n->left || has_pred;
            uint64_t own_last = n->left ? n->left->max_last : pred_last;
            if (own_pred && n->area.start - own_last - 1 >= min_size) {
                hole_start = own_last + 1;
                return n;
            }
        }
        // Neither the left subtree nor n qualifies: continue right of n.
        has_pred = true;
        pred_last = n->area.last;
        n = n->right;
    }
    return nullptr;
}

static bool fits(uint64_t start, uint64_t last, uint64_t min_size) {
    return last >= start && last - start >= min_size - 1;
}

bool AreaTree::find_hole(uint64_t from, uint64_t to, uint64_t min_size, Hole& out) const {
    if (from > to || min_size == 0) return false;
    const Area* a = first_ending_at_or_after(from);
    if (!a) {
        out = {from, to};
        return fits(from, to, min_size);
    }
    if (a->start > from) {
        uint64_t last = std::min(a->start - 1, to);
        if (fits(from, last, min_size)) {
            out = {from, last};
            return true;
        }
        if (a->start > to) return false;
    }
    uint64_t hole_start = 0;
    if (const Node* x = gap_search(root_, a->start, min_size, false, 0, hole_start)) {
        if (hole_start > to) return false;
        uint64_t last = std::min(x->area.start - 1, to);
        out = {hole_start, last};
        return fits(hole_start, last, min_size);
    }
    uint64_t max_last = root_->max_last;
    if (max_last >= to) return false;
    out = {max_last + 1, to};
    return fits(max_last + 1, to, min_size);
}

}  // namespace ioasid::model
