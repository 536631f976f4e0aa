// IOASIDD_REGION_RW's own argument rules, the same for emulated and
// forwarded devices: argsz, known flags, and a length an int result holds.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "dispatch/user_memory.h"
#include "ioasid/ioasidd.h"

namespace ioasid::dispatch {

inline constexpr uint64_t kMaxRegionRw = 0x7fffffff;

inline bool region_rw_valid(const ioasidd_region_rw& rw) {
    return rw.argsz >= sizeof(rw) && !(rw.flags & ~IOASIDD_REGION_WRITE) &&
           rw.length <= kMaxRegionRw;
}

// What an IOASIDD_REGION_{READ,WRITE}_FAST number says: false for any
// other number (a size of 8, another type, a number with a size field).
struct RegionFast {
    bool write;
    uint32_t index;
    uint32_t len;
};
inline bool region_fast_decode(uint32_t cmd, RegionFast& out) {
    const uint32_t nr = _IOC_NR(cmd);
    if (_IOC_TYPE(cmd) != IOASIDD_TYPE || _IOC_DIR(cmd) != _IOC_NONE || _IOC_SIZE(cmd) ||
        nr < IOASIDD_REGION_FAST_NR(0, 0, 0) || nr > IOASIDD_REGION_FAST_NR(1, 7, 3) ||
        (nr & 3) == 3)
        return false;
    // The number's fields, as IOASIDD_REGION_FAST_NR puts them.
    out = {(nr & 0x20) != 0, (nr >> 2) & 7, 1u << (nr & 3)};
    return true;
}

// The most the daemon buffers of one access: a request may ask for 2 GiB.
inline constexpr uint64_t kRegionRwChunk = 64 * 1024;

// Moves `length` bytes in pieces through one bounded buffer. `step(buf,
// done, n)` moves n bytes at `done` and returns how many it moved, or
// -errno. Ends at the first short step (the region's end) with the bytes
// moved, or at the first error with it, as the kernel's one copy loop
// does; a length of 0 still makes one step, which checks the offset.
template <typename Step>
int64_t region_rw_chunks(uint64_t length, Step step) {
    std::vector<uint8_t> buf(std::min(length, kRegionRwChunk));
    uint64_t done = 0;
    do {
        const uint64_t n = std::min<uint64_t>(length - done, buf.size());
        const int64_t moved = step(buf.data(), done, n);
        if (moved < 0) return moved;
        done += static_cast<uint64_t>(moved);
        if (static_cast<uint64_t>(moved) < n) break;
    } while (done < length);
    return static_cast<int64_t>(done);
}

// A whole access between the caller's memory at `data` and a region, in
// pieces: `dev_read(buf, at, n)` and `dev_write(buf, at, n)` move n bytes
// at `at` into the access and return how many, or -errno. What a read
// returned reaches the caller before the next piece.
template <typename Read, typename Write>
int region_rw_user(UserMemory& mem, uint64_t data, uint64_t length, bool write, Read dev_read,
                   Write dev_write) {
    return static_cast<int>(
        region_rw_chunks(length, [&](uint8_t* buf, uint64_t at, uint64_t n) -> int64_t {
            if (write) {
                if (mem.read(data + at, buf, n)) return -EFAULT;
                return dev_write(buf, at, n);
            }
            const int64_t got = dev_read(buf, at, n);
            if (got > 0 && mem.write(data + at, buf, static_cast<size_t>(got))) return -EFAULT;
            return got;
        }));
}

}  // namespace ioasid::dispatch
