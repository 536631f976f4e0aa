#include "model/area_tree.h"

#include <algorithm>
#include <cstring>

namespace ioasid::model {

namespace {

constexpr int kLeafCap = 32;
constexpr int kFanout = 32;
// A node this empty is merged into a sibling when both fit in one.
constexpr int kLeafMin = kLeafCap / 4;
constexpr int kInnerMin = kFanout / 4;

// What a parent keeps about each child: enough to steer every search and to
// prune the hole search without visiting the child.
struct Summary {
    uint64_t min_start;
    uint64_t max_last;
    uint64_t max_gap;  // largest hole between two areas inside; 0 if none
};

}  // namespace

struct AreaTree::Node {
    bool leaf;
    int n = 0;
    explicit Node(bool is_leaf) : leaf(is_leaf) {}
};

namespace {

struct Leaf : AreaTree::Node {
    Leaf() : Node(true) {}
    Area a[kLeafCap];
};

struct Inner : AreaTree::Node {
    Inner() : Node(false) {}
    uint64_t min_start[kFanout];
    uint64_t max_last[kFanout];
    uint64_t max_gap[kFanout];
    AreaTree::Node* child[kFanout];
};

Leaf* as_leaf(AreaTree::Node* n) {
    return static_cast<Leaf*>(n);
}
const Leaf* as_leaf(const AreaTree::Node* n) {
    return static_cast<const Leaf*>(n);
}
Inner* as_inner(AreaTree::Node* n) {
    return static_cast<Inner*>(n);
}
const Inner* as_inner(const AreaTree::Node* n) {
    return static_cast<const Inner*>(n);
}

Summary summarize(const AreaTree::Node* node) {
    if (node->leaf) {
        const Leaf* l = as_leaf(node);
        uint64_t gap = 0;
        for (int j = 1; j < l->n; ++j) gap = std::max(gap, l->a[j].start - l->a[j - 1].last - 1);
        return {l->a[0].start, l->a[l->n - 1].last, gap};
    }
    const Inner* in = as_inner(node);
    uint64_t gap = in->max_gap[0];
    for (int i = 1; i < in->n; ++i) {
        gap = std::max(gap, in->max_gap[i]);
        gap = std::max(gap, in->min_start[i] - in->max_last[i - 1] - 1);
    }
    return {in->min_start[0], in->max_last[in->n - 1], gap};
}

void set_entry(Inner* in, int i, AreaTree::Node* child) {
    Summary s = summarize(child);
    in->child[i] = child;
    in->min_start[i] = s.min_start;
    in->max_last[i] = s.max_last;
    in->max_gap[i] = s.max_gap;
}

// Opens a slot at i (entries from i move right) or closes it.
void open_slot(Inner* in, int i) {
    int tail = in->n - i;
    std::memmove(&in->child[i + 1], &in->child[i], tail * sizeof(in->child[0]));
    std::memmove(&in->min_start[i + 1], &in->min_start[i], tail * sizeof(uint64_t));
    std::memmove(&in->max_last[i + 1], &in->max_last[i], tail * sizeof(uint64_t));
    std::memmove(&in->max_gap[i + 1], &in->max_gap[i], tail * sizeof(uint64_t));
    ++in->n;
}

void close_slot(Inner* in, int i) {
    int tail = in->n - i - 1;
    std::memmove(&in->child[i], &in->child[i + 1], tail * sizeof(in->child[0]));
    std::memmove(&in->min_start[i], &in->min_start[i + 1], tail * sizeof(uint64_t));
    std::memmove(&in->max_last[i], &in->max_last[i + 1], tail * sizeof(uint64_t));
    std::memmove(&in->max_gap[i], &in->max_gap[i + 1], tail * sizeof(uint64_t));
    --in->n;
}

// Moves entries [from, n) of one node to the end of another (same kind).
void move_tail(AreaTree::Node* src, int from, AreaTree::Node* dst) {
    int count = src->n - from;
    if (src->leaf) {
        std::copy_n(&as_leaf(src)->a[from], count, &as_leaf(dst)->a[dst->n]);
    } else {
        Inner *s = as_inner(src), *d = as_inner(dst);
        std::copy_n(&s->child[from], count, &d->child[d->n]);
        std::copy_n(&s->min_start[from], count, &d->min_start[d->n]);
        std::copy_n(&s->max_last[from], count, &d->max_last[d->n]);
        std::copy_n(&s->max_gap[from], count, &d->max_gap[d->n]);
    }
    dst->n += count;
    src->n = from;
}

void destroy(AreaTree::Node* n) {
    if (!n) return;
    if (n->leaf) {
        delete as_leaf(n);
        return;
    }
    Inner* in = as_inner(n);
    for (int i = 0; i < in->n; ++i) destroy(in->child[i]);
    delete in;
}

// The child of an inner node whose range holds `start`: the last whose first
// start is <= start (the first child for anything before it).
int child_for(const Inner* in, uint64_t start) {
    int i = static_cast<int>(std::upper_bound(in->min_start, in->min_start + in->n, start) -
                             in->min_start);
    return i ? i - 1 : 0;
}

// Inserts; returns the new right sibling when the node had to split.
AreaTree::Node* insert_into(AreaTree::Node* node, const Area& area) {
    if (node->leaf) {
        Leaf* l = as_leaf(node);
        int pos = static_cast<int>(
            std::upper_bound(l->a, l->a + l->n, area.start,
                             [](uint64_t s, const Area& a) { return s < a.start; }) -
            l->a);
        Leaf* right = nullptr;
        if (l->n == kLeafCap) {
            // An append (ascending maps) leaves this leaf full, else halves it.
            right = new Leaf();
            move_tail(l, pos == l->n ? kLeafCap : kLeafCap / 2, right);
            if (pos > l->n || right->n == 0) {  // the left half may have been kept full
                pos -= l->n;
                l = right;
            }
        }
        std::copy_backward(l->a + pos, l->a + l->n, l->a + l->n + 1);
        l->a[pos] = area;
        ++l->n;
        return right;
    }
    Inner* in = as_inner(node);
    int i = child_for(in, area.start);
    AreaTree::Node* split = insert_into(in->child[i], area);
    set_entry(in, i, in->child[i]);
    if (!split) return nullptr;
    Inner* right = nullptr;
    Inner* target = in;
    int at = i + 1;
    if (in->n == kFanout) {
        right = new Inner();
        move_tail(in, at == in->n ? kFanout : kFanout / 2, right);
        if (at > in->n || right->n == 0) {
            at -= in->n;
            target = right;
        }
    }
    open_slot(target, at);
    set_entry(target, at, split);
    return right;
}

// Merges child i+1 into child i when both fit in one node.
void merge_children(Inner* in, int i) {
    AreaTree::Node *left = in->child[i], *right = in->child[i + 1];
    int cap = left->leaf ? kLeafCap : kFanout;
    if (left->n + right->n > cap) return;
    move_tail(right, 0, left);
    if (right->leaf)
        delete as_leaf(right);
    else
        delete as_inner(right);
    close_slot(in, i + 1);
    set_entry(in, i, left);
}

bool erase_from(AreaTree::Node* node, uint64_t start) {
    if (node->leaf) {
        Leaf* l = as_leaf(node);
        auto* it = std::lower_bound(l->a, l->a + l->n, start,
                                    [](const Area& a, uint64_t s) { return a.start < s; });
        if (it == l->a + l->n || it->start != start) return false;
        std::copy(it + 1, l->a + l->n, it);
        --l->n;
        return true;
    }
    Inner* in = as_inner(node);
    int i = child_for(in, start);
    AreaTree::Node* c = in->child[i];
    if (!erase_from(c, start)) return false;
    if (c->n == 0) {
        destroy(c);
        close_slot(in, i);
        return true;
    }
    set_entry(in, i, c);
    if (c->n < (c->leaf ? kLeafMin : kInnerMin) && in->n > 1)
        merge_children(in, i + 1 < in->n ? i : i - 1);
    return true;
}

const Area* leftmost(const AreaTree::Node* n) {
    while (!n->leaf) n = as_inner(n)->child[0];
    return n->n ? &as_leaf(n)->a[0] : nullptr;
}

// The first area with last >= iova: lasts are ordered like starts.
const Area* ending_at_or_after(const AreaTree::Node* node, uint64_t iova) {
    while (!node->leaf) {
        const Inner* in = as_inner(node);
        int i = static_cast<int>(std::lower_bound(in->max_last, in->max_last + in->n, iova) -
                                 in->max_last);
        if (i == in->n) return nullptr;
        node = in->child[i];
    }
    const Leaf* l = as_leaf(node);
    const Area* it = std::lower_bound(l->a, l->a + l->n, iova,
                                      [](const Area& a, uint64_t v) { return a.last < v; });
    return it == l->a + l->n ? nullptr : it;
}

const Area* upper_bound_start(const AreaTree::Node* node, uint64_t start) {
    if (node->leaf) {
        const Leaf* l = as_leaf(node);
        const Area* it = std::upper_bound(l->a, l->a + l->n, start,
                                          [](uint64_t s, const Area& a) { return s < a.start; });
        return it == l->a + l->n ? nullptr : it;
    }
    const Inner* in = as_inner(node);
    int i = child_for(in, start);
    if (const Area* a = upper_bound_start(in->child[i], start)) return a;
    return i + 1 < in->n ? leftmost(in->child[i + 1]) : nullptr;
}

// The first area x with x.start > after whose hole before it (from the end of
// the area before x) holds min_size bytes. `pred_last` is the last IOVA of
// the area before the subtree, if `has_pred`.
const Area* gap_search(const AreaTree::Node* node, uint64_t after, uint64_t min_size,
                       bool& has_pred, uint64_t& pred_last) {
    if (node->leaf) {
        const Leaf* l = as_leaf(node);
        for (int j = 0; j < l->n; ++j) {
            const Area& a = l->a[j];
            if (a.start > after && has_pred && a.start - pred_last - 1 >= min_size) return &a;
            has_pred = true;
            pred_last = a.last;
        }
        return nullptr;
    }
    const Inner* in = as_inner(node);
    for (int i = 0; i < in->n; ++i) {
        uint64_t best = in->max_gap[i];
        if (has_pred) best = std::max(best, in->min_start[i] - pred_last - 1);
        // Nothing in a child ending at or before `after` can start after it.
        if (best >= min_size && in->max_last[i] > after)
            if (const Area* a = gap_search(in->child[i], after, min_size, has_pred, pred_last))
                return a;
        has_pred = true;
        pred_last = in->max_last[i];
    }
    return nullptr;
}

void walk(const AreaTree::Node* node, const std::function<void(const Area&)>& fn) {
    if (node->leaf) {
        const Leaf* l = as_leaf(node);
        for (int j = 0; j < l->n; ++j) fn(l->a[j]);
        return;
    }
    const Inner* in = as_inner(node);
    for (int i = 0; i < in->n; ++i) walk(in->child[i], fn);
}

bool fits(uint64_t start, uint64_t last, uint64_t min_size) {
    return last >= start && last - start >= min_size - 1;
}

}  // namespace

AreaTree::AreaTree() = default;
AreaTree::~AreaTree() {
    destroy(root_);
}

AreaTree::AreaTree(AreaTree&& o) noexcept : root_(o.root_), size_(o.size_) {
    o.root_ = nullptr;
    o.size_ = 0;
}

AreaTree& AreaTree::operator=(AreaTree&& o) noexcept {
    if (this != &o) {
        destroy(root_);
        root_ = o.root_;
        size_ = o.size_;
        o.root_ = nullptr;
        o.size_ = 0;
    }
    return *this;
}

void AreaTree::insert(const Area& area) {
    if (!root_) root_ = new Leaf();
    if (Node* split = insert_into(root_, area)) {
        auto* top = new Inner();
        top->n = 2;
        set_entry(top, 0, root_);
        set_entry(top, 1, split);
        root_ = top;
    }
    ++size_;
}

bool AreaTree::erase(uint64_t start) {
    if (!root_ || !erase_from(root_, start)) return false;
    --size_;
    // Shrink from the top: an inner root with one child gives way to it.
    while (!root_->leaf && root_->n == 1) {
        Node* only = as_inner(root_)->child[0];
        as_inner(root_)->n = 0;
        delete as_inner(root_);
        root_ = only;
    }
    if (!root_->leaf && root_->n == 0) {
        delete as_inner(root_);
        root_ = nullptr;
    }
    return true;
}

void AreaTree::clear() {
    destroy(root_);
    root_ = nullptr;
    size_ = 0;
}

const Area* AreaTree::first() const {
    return root_ ? leftmost(root_) : nullptr;
}

const Area* AreaTree::next_after(uint64_t start) const {
    return root_ ? upper_bound_start(root_, start) : nullptr;
}

const Area* AreaTree::first_ending_at_or_after(uint64_t iova) const {
    return root_ ? ending_at_or_after(root_, iova) : nullptr;
}

const Area* AreaTree::first_intersecting(uint64_t start, uint64_t last) const {
    const Area* a = first_ending_at_or_after(start);
    return (a && a->start <= last) ? a : nullptr;
}

void AreaTree::for_each(const std::function<void(const Area&)>& fn) const {
    if (root_) walk(root_, fn);
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
    bool has_pred = false;
    uint64_t pred_last = 0;
    if (const Area* x = gap_search(root_, a->start, min_size, has_pred, pred_last)) {
        uint64_t hole_start = pred_last + 1;
        if (hole_start > to) return false;
        uint64_t last = std::min(x->start - 1, to);
        out = {hole_start, last};
        return fits(hole_start, last, min_size);
    }
    uint64_t max_last = summarize(root_).max_last;
    if (max_last >= to) return false;
    out = {max_last + 1, to};
    return fits(max_last + 1, to, min_size);
}

}  // namespace ioasid::model
