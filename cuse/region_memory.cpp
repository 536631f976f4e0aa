#include "cuse/region_memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ioasid::cuse {

void RegionMemory::add_piece(uint64_t addr, uint64_t len, const unsigned char* src) {
    size_t offset = bytes_.size();
    pieces_.push_back({addr, len, offset});
    if (src) {
        bytes_.insert(bytes_.end(), src, src + len);
        known_.insert(known_.end(), len, 1);
    } else {
        bytes_.insert(bytes_.end(), len, 0);
        known_.insert(known_.end(), len, 0);
    }
    written_.insert(written_.end(), len, 0);
}

RegionMemory::RegionMemory(const std::vector<dispatch::Region>& in, const void* data, size_t size,
                           const std::vector<dispatch::Region>& out) {
    const auto* src = static_cast<const unsigned char*>(data);
    size_t offset = 0;
    for (const dispatch::Region& r : in) {
        if (r.len > size - offset) break;
        add_piece(r.addr, r.len, src + offset);
        offset += r.len;
    }
    for (const dispatch::Region& r : out)
        if (!containing(r.addr, r.len)) add_piece(r.addr, r.len, nullptr);
}

const RegionMemory::Piece* RegionMemory::containing(uint64_t addr, uint64_t len) const {
    for (const Piece& p : pieces_)
        if (addr >= p.addr && addr - p.addr <= p.len && len <= p.len - (addr - p.addr)) return &p;
    return nullptr;
}

// A zero-length copy succeeds at any address, as the kernel's does.
int RegionMemory::read(uint64_t addr, void* dst, size_t len) {
    if (!len) return 0;
    const Piece* p = containing(addr, len);
    size_t at = p ? p->offset + (addr - p->addr) : 0;
    if (!p ||
        std::find(known_.begin() + at, known_.begin() + at + len, 0) != known_.begin() + at + len) {
        missed_ = true;
        return -EFAULT;
    }
    std::memcpy(dst, bytes_.data() + at, len);
    return 0;
}

int RegionMemory::write(uint64_t addr, const void* src, size_t len) {
    if (!len) return 0;
    if (!containing(addr, len)) return -EFAULT;
    // Regions may overlap (an array inside the struct): keep every copy equal.
    const auto* s = static_cast<const unsigned char*>(src);
    for (const Piece& p : pieces_) {
        uint64_t skip, n;
        if (!overlap({addr, len}, {p.addr, p.len}, skip, n)) continue;
        uint64_t lo = addr + skip;
        size_t at = p.offset + (lo - p.addr);
        std::memcpy(bytes_.data() + at, s + skip, n);
        std::fill_n(known_.begin() + at, n, 1);
        std::fill_n(written_.begin() + at, n, 1);
    }
    return 0;
}

// Regions may end at or wrap past the top of the address space (a caller's
// bad pointer): compare offsets, never end addresses.
bool overlap(const dispatch::Region& a, const dispatch::Region& b, uint64_t& skip, uint64_t& n) {
    if (!a.len || !b.len) return false;
    if (a.addr <= b.addr) {
        if (b.addr - a.addr >= a.len) return false;
        skip = b.addr - a.addr;
        n = std::min(a.len - skip, b.len);
    } else {
        if (a.addr - b.addr >= b.len) return false;
        skip = 0;
        n = std::min(a.len, b.len - (a.addr - b.addr));
    }
    return true;
}

std::optional<std::vector<iovec>> RegionMemory::out_data(
    const std::vector<dispatch::Region>& out) const {
    // The stream the kernel will copy: out regions in order.
    std::vector<std::pair<size_t, uint64_t>> stream;  // (offset in bytes_, len)
    for (const dispatch::Region& r : out) {
        const Piece* p = containing(r.addr, r.len);
        if (!p) return std::nullopt;
        stream.emplace_back(p->offset + (r.addr - p->addr), r.len);
    }
    // Cut it after the last byte written.
    size_t last = stream.size();
    uint64_t cut = 0;
    for (size_t i = stream.size(); i-- > 0 && last == stream.size();) {
        auto [at, len] = stream[i];
        for (uint64_t j = len; j-- > 0;)
            if (written_[at + j]) {
                last = i;
                cut = j + 1;
                break;
            }
    }
    std::vector<iovec> iov;
    if (last == stream.size()) return iov;
    for (size_t i = 0; i <= last; ++i) {
        auto [at, len] = stream[i];
        uint64_t n = i == last ? cut : len;
        if (std::find(known_.begin() + at, known_.begin() + at + n, 0) != known_.begin() + at + n)
            return std::nullopt;
        iov.push_back({const_cast<unsigned char*>(bytes_.data()) + at, n});
    }
    return iov;
}

}  // namespace ioasid::cuse
