// How a command reaches the memory and the credentials of its caller.
//
// The dispatch layer never knows how: the CUSE transport gives it either the
// caller's own address space (process_vm_readv/writev, one round trip) or the
// buffers of the ioctl retry protocol; tests and the fuzzer give it a plain
// buffer.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace ioasid::model {
class SourceProcess;
}  // namespace ioasid::model

namespace ioasid::dispatch {

class UserMemory {
  public:
    virtual ~UserMemory() = default;
    // All or nothing: 0, or -EFAULT when any byte is not accessible.
    virtual int read(uint64_t addr, void* dst, size_t len) = 0;
    virtual int write(uint64_t addr, const void* src, size_t len) = 0;
};

// Memory that is the daemon's own buffer, its addresses offsets in it: the
// arguments of a command that did not come from the caller's memory.
class LocalMemory final : public UserMemory {
  public:
    LocalMemory(void* base, size_t len) : base_(static_cast<unsigned char*>(base)), len_(len) {}
    int read(uint64_t addr, void* dst, size_t len) override {
        if (!inside(addr, len)) return -EFAULT;
        std::memcpy(dst, base_ + addr, len);
        return 0;
    }
    int write(uint64_t addr, const void* src, size_t len) override {
        if (!inside(addr, len)) return -EFAULT;
        std::memcpy(base_ + addr, src, len);
        return 0;
    }

  private:
    unsigned char* base_;
    size_t len_;
    bool inside(uint64_t addr, size_t len) const { return addr <= len_ && len <= len_ - addr; }
};

struct Caller {
    uint32_t tid = 0;  // the calling thread, as the transport saw it
    uint32_t uid = 0;
    uint32_t gid = 0;
    // Lazily answered: most commands never ask.
    std::function<bool(int capability)> capable = [](int) { return false; };
    std::function<uint32_t()> tgid = [] { return 0u; };
    // Watches process `tgid` (the caller's) for its exit; null when the
    // transport cannot (see model::SourceProcess).
    using Watch = std::function<std::shared_ptr<const model::SourceProcess>(uint32_t tgid)>;
    Watch watch = [](uint32_t) { return nullptr; };
    // Whether pinning [start, start + len) of the caller's memory would
    // succeed (for writing when `write`): 0, or -EFAULT where the kernel's
    // pin_user_pages() would fail. Unknown answers 0.
    using PinCheck = std::function<int(uint64_t start, uint64_t len, bool write)>;
    PinCheck pinnable = [](uint64_t, uint64_t, bool) { return 0; };
    // Whether [va, va + len) of process `pid` is backed by physically
    // contiguous memory starting at a physical address aligned to `len`
    // (what an IOMMU needs to map it with one page of that size). Unknown
    // answers false.
    using ContiguityCheck = std::function<bool(uint32_t pid, uint64_t va, uint64_t len)>;
    ContiguityCheck contiguous = [](uint32_t, uint64_t, uint64_t) { return false; };
};

// A user memory range a command reads or writes.
struct Region {
    uint64_t addr;
    uint64_t len;
    bool operator==(const Region&) const = default;
};

// The user memory a command touches: what it reads, and what it may write,
// in the order the kernel writes it. A region written only partly must
// either be read too or be written from its start (an array filled from
// element 0), so that a transport copying the out regions back in order
// never copies a byte it does not know. Computed from what is known so far,
// a footprint only grows as more becomes known; when it stops growing the
// command can run.
struct Footprint {
    std::vector<Region> in;
    std::vector<Region> out;
    bool operator==(const Footprint&) const = default;
};

}  // namespace ioasid::dispatch
