// The caller's memory as the FUSE ioctl retry protocol delivers it: copies of
// the regions we asked to read, in order, in one buffer, and room for the
// regions we declared we may write. The kernel copies the reply's out data
// into the out regions in order, so a reply carries the out stream up to the
// last byte the command wrote; every byte before that must be known.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

// Whether regions a and b share bytes; if so, the shared run starts `skip`
// bytes into a and is `n` bytes long. Safe for regions that wrap past 2^64.
bool overlap(const dispatch::Region& a, const dispatch::Region& b, uint64_t& skip, uint64_t& n);

class RegionMemory final : public dispatch::UserMemory {
  public:
    // `data` holds the concatenated bytes of `in`; it may be shorter, in which
    // case the regions it does not cover are unknown. `out` regions not read
    // in can be written but not read.
    RegionMemory(const std::vector<dispatch::Region>& in, const void* data, size_t size,
                 const std::vector<dispatch::Region>& out = {});

    int read(uint64_t addr, void* dst, size_t len) override;
    int write(uint64_t addr, const void* src, size_t len) override;

    // The reply's out data for `out` (the regions declared to the kernel):
    // empty when nothing was written, nullopt when the bytes before the last
    // one written are not all known (a footprint bug).
    std::optional<std::vector<iovec>> out_data(const std::vector<dispatch::Region>& out) const;
    // A read asked for bytes that did not come.
    bool missed() const { return missed_; }

  private:
    struct Piece {
        uint64_t addr;
        uint64_t len;
        size_t offset;  // into bytes_
    };
    std::vector<Piece> pieces_;
    std::vector<unsigned char> bytes_;
    std::vector<unsigned char> known_;    // per byte of bytes_
    std::vector<unsigned char> written_;  // per byte of bytes_
    bool missed_ = false;

    const Piece* containing(uint64_t addr, uint64_t len) const;
    void add_piece(uint64_t addr, uint64_t len, const unsigned char* src);
};

}  // namespace ioasid::cuse
