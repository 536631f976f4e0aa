// The caller's memory as the FUSE ioctl retry protocol delivers it: copies of
// the regions we asked for, in order, in one buffer. Writes land in the copies
// and go back as the reply's out data.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

class RegionMemory final : public dispatch::UserMemory {
public:
    // `data` holds the concatenated bytes of `regions`; it may be shorter, in
    // which case the regions it does not cover are unknown.
    RegionMemory(const std::vector<dispatch::Region>& regions, const void* data, size_t size);

    int read(uint64_t addr, void* dst, size_t len) override;
    int write(uint64_t addr, const void* src, size_t len) override;

    // The out data for `out` regions: every region up to the last one written
    // (earlier ones carry what the caller had, unchanged). Empty if none was.
    std::vector<iovec> out_data(const std::vector<dispatch::Region>& out) const;

private:
    struct Piece {
        uint64_t addr;
        uint64_t len;
        size_t offset;  // into bytes_
    };
    std::vector<Piece> pieces_;
    std::vector<unsigned char> bytes_;
    std::vector<std::pair<uint64_t, uint64_t>> written_;  // [addr, addr + len)

    const Piece* containing(uint64_t addr, uint64_t len) const;
};

}  // namespace ioasid::cuse
