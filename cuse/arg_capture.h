// What an ioctl read from and wrote to the struct at its argument, kept for
// the trace while tracing is on. The transport only copies bytes; what they
// mean is the handler's business.
#pragma once

#include <bitset>
#include <cstdint>
#include <cstring>
#include <vector>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

class ArgCapture final : public dispatch::UserMemory {
  public:
    // Every ioctl struct of iommufd and VFIO fits in the window.
    static constexpr size_t kWindow = 128;

    ArgCapture(dispatch::UserMemory& inner, uint64_t arg) : inner_(inner), arg_(arg) {}

    int read(uint64_t addr, void* dst, size_t len) override {
        int rc = inner_.read(addr, dst, len);
        if (!rc) keep(addr, dst, len, before_, read_);
        return rc;
    }
    int write(uint64_t addr, const void* src, size_t len) override {
        int rc = inner_.write(addr, src, len);
        if (!rc) keep(addr, src, len, written_bytes_, written_);
        return rc;
    }

    // The bytes from the argument on, up to the first one the command did not
    // read; and the same once its writes are laid over them.
    std::vector<uint8_t> before() const { return prefix(before_, read_); }
    std::vector<uint8_t> after() const {
        uint8_t merged[kWindow];
        std::bitset<kWindow> known = read_ | written_;
        for (size_t i = 0; i < kWindow; ++i)
            merged[i] = written_[i] ? written_bytes_[i] : before_[i];
        return prefix(merged, known);
    }

  private:
    void keep(uint64_t addr, const void* p, size_t len, uint8_t* image,
              std::bitset<kWindow>& known) {
        // Only bytes inside [arg, arg + kWindow), whatever wraps past 2^64.
        uint64_t skip = 0, start = addr - arg_;
        if (addr < arg_) {
            skip = arg_ - addr;
            if (skip >= len) return;
            start = 0;
        }
        for (uint64_t off = start; off < kWindow && skip < len; ++off, ++skip) {
            image[off] = static_cast<const uint8_t*>(p)[skip];
            known.set(off);
        }
    }
    static std::vector<uint8_t> prefix(const uint8_t* image, const std::bitset<kWindow>& known) {
        size_t n = 0;
        while (n < kWindow && known[n]) ++n;
        return {image, image + n};
    }

    dispatch::UserMemory& inner_;
    const uint64_t arg_;
    uint8_t before_[kWindow] = {};
    uint8_t written_bytes_[kWindow] = {};
    std::bitset<kWindow> read_, written_;
};

}  // namespace ioasid::cuse
