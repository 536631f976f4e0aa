#include "cuse/process_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ioasid::cuse {

int ProcessMemory::transfer(bool write, uint64_t addr, void* buf, size_t len) {
    if (len == 0) return 0;
    iovec local{buf, len};
    iovec remote{reinterpret_cast<void*>(addr), len};
    ssize_t n = write ? process_vm_writev(tid_, &local, 1, &remote, 1, 0)
                      : process_vm_readv(tid_, &local, 1, &remote, 1, 0);
    if (n == static_cast<ssize_t>(len)) {
        touched_ = true;
        return 0;
    }
    if (n < 0 && (errno == EPERM || errno == ESRCH || errno == ENOSYS)) denied_ = true;
    return -EFAULT;
}

int ProcessMemory::read(uint64_t addr, void* dst, size_t len) {
    if (cache_len_ && addr >= cache_addr_ && addr - cache_addr_ <= cache_len_ &&
        len <= cache_len_ - (addr - cache_addr_)) {
        std::memcpy(dst, cache_ + (addr - cache_addr_), len);
        return 0;
    }
    // Read ahead only up to the end of the caller's page: access rights are
    // per page, so the extra bytes cannot fault where the asked ones do not,
    // and one remote piece costs the kernel one page walk, not two.
    const size_t ahead = std::min<size_t>(kReadAhead, kPage - (addr & (kPage - 1)));
    if (cache_len_ || len >= ahead) return transfer(false, addr, dst, len);
    int rc = transfer(false, addr, cache_, ahead);
    if (rc) return rc;
    cache_addr_ = addr;
    cache_len_ = ahead;
    std::memcpy(dst, cache_, len);
    return 0;
}

int ProcessMemory::write(uint64_t addr, const void* src, size_t len) {
    int rc = transfer(true, addr, const_cast<void*>(src), len);
    if (rc == 0 && cache_len_) {
        // Keep the read-ahead coherent with what we just wrote.
        uint64_t lo = std::max(addr, cache_addr_);
        uint64_t hi = std::min(addr + len, cache_addr_ + cache_len_);
        if (lo < hi)
            std::memcpy(cache_ + (lo - cache_addr_),
                        static_cast<const unsigned char*>(src) + (lo - addr), hi - lo);
    }
    return rc;
}

}  // namespace ioasid::cuse
