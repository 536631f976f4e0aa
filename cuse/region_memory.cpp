#include "cuse/region_memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ioasid::cuse {

RegionMemory::RegionMemory(const std::vector<dispatch::Region>& regions, const void* data,
                           size_t size) {
    const auto* src = static_cast<const unsigned char*>(data);
    size_t offset = 0;
    for (const dispatch::Region& r : regions) {
        if (r.len > size - offset) break;
        pieces_.push_back({r.addr, r.len, offset});
        offset += r.len;
    }
    bytes_.assign(src, src + offset);
}

const RegionMemory::Piece* RegionMemory::containing(uint64_t addr, uint64_t len) const {
    for (const Piece& p : pieces_)
        if (addr >= p.addr && addr - p.addr <= p.len && len <= p.len - (addr - p.addr)) return &p;
    return nullptr;
}

int RegionMemory::read(uint64_t addr, void* dst, size_t len) {
    const Piece* p = containing(addr, len);
    if (!p) return -EFAULT;
    std::memcpy(dst, bytes_.data() + p->offset + (addr - p->addr), len);
    return 0;
}

int RegionMemory::write(uint64_t addr, const void* src, size_t len) {
    if (!containing(addr, len)) return -EFAULT;
    // Regions may overlap (an array inside the struct): keep every copy equal.
    const auto* s = static_cast<const unsigned char*>(src);
    for (const Piece& p : pieces_) {
        uint64_t lo = std::max(addr, p.addr), hi = std::min(addr + len, p.addr + p.len);
        if (lo < hi) std::memcpy(bytes_.data() + p.offset + (lo - p.addr), s + (lo - addr), hi - lo);
    }
    written_.emplace_back(addr, addr + len);
    return 0;
}

std::vector<iovec> RegionMemory::out_data(const std::vector<dispatch::Region>& out) const {
    size_t last_written = 0;
    bool any = false;
    for (size_t i = 0; i < out.size(); ++i)
        for (auto [lo, hi] : written_)
            if (lo < out[i].addr + out[i].len && hi > out[i].addr) {
                last_written = i;
                any = true;
            }
    std::vector<iovec> iov;
    if (!any) return iov;
    for (size_t i = 0; i <= last_written; ++i) {
        const Piece* p = containing(out[i].addr, out[i].len);
        if (!p) break;  // cannot happen: out regions are always fetched too
        iov.push_back({const_cast<unsigned char*>(bytes_.data()) + p->offset +
                           (out[i].addr - p->addr),
                       out[i].len});
    }
    return iov;
}

}  // namespace ioasid::cuse
