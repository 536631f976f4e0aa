// A caller's address space for tests: regions at chosen addresses, and
// EFAULT everywhere else, like process_vm_readv on an unmapped page.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <vector>

#include "dispatch/user_memory.h"

namespace ioasid::test {

class FakeMemory : public dispatch::UserMemory {
  public:
    // Places a copy of `value` at a fresh address and returns the address.
    template <typename T>
    uint64_t put(const T& value) {
        return put_bytes(&value, sizeof(T));
    }
    uint64_t put_bytes(const void* src, size_t len) {
        uint64_t addr = next_;
        next_ += (len + 0xfff) & ~uint64_t{0xfff};
        next_ += 0x1000;  // a guard page between regions
        auto& r = regions_[addr];
        r.assign(static_cast<const uint8_t*>(src), static_cast<const uint8_t*>(src) + len);
        return addr;
    }
    // A zeroed region at a chosen address.
    void map_at(uint64_t addr, size_t len) { regions_[addr].assign(len, 0); }
    // The region at `addr` becomes read-only: writes to it fault.
    void protect(uint64_t addr) { read_only_.insert(addr); }
    // The bytes of the region that starts at `addr`.
    std::vector<uint8_t>& region(uint64_t addr) { return regions_.at(addr); }
    bool operator==(const FakeMemory& o) const { return regions_ == o.regions_; }

    template <typename T>
    T get(uint64_t addr) {
        T v{};
        if (read(addr, &v, sizeof(T))) throw std::runtime_error("fault in test memory");
        return v;
    }

    // A zero-length copy succeeds at any address, as the kernel's does.
    int read(uint64_t addr, void* dst, size_t len) override {
        if (!len) return 0;
        uint8_t* p = locate(addr, len);
        if (!p) return -EFAULT;
        std::memcpy(dst, p, len);
        ++reads;
        return 0;
    }
    int write(uint64_t addr, const void* src, size_t len) override {
        if (!len) return 0;
        uint8_t* p = locate(addr, len);
        if (!p || read_only(addr)) return -EFAULT;
        std::memcpy(p, src, len);
        ++writes;
        return 0;
    }

    int reads = 0;
    int writes = 0;

  private:
    std::map<uint64_t, std::vector<uint8_t>> regions_;
    std::set<uint64_t> read_only_;
    uint64_t next_ = 0x10000;

    bool read_only(uint64_t addr) const {
        auto it = regions_.upper_bound(addr);
        return it != regions_.begin() && read_only_.count(std::prev(it)->first);
    }
    uint8_t* locate(uint64_t addr, size_t len) {
        auto it = regions_.upper_bound(addr);
        if (it == regions_.begin()) return nullptr;
        --it;
        uint64_t off = addr - it->first;
        if (off > it->second.size() || len > it->second.size() - off) return nullptr;
        return it->second.data() + off;
    }
};

}  // namespace ioasid::test
