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
    if (cache_len_ || len >= kReadAhead) return transfer(false, addr, dst, len);

    // Two remote pieces: the bytes asked for, then the read-ahead. A fault in
    // the read-ahead only shortens it (process_vm_readv stops at the piece).
    iovec local{cache_, kReadAhead};
    iovec remote[2] = {{reinterpret_cast<void*>(addr), len},
                       {reinterpret_cast<void*>(addr + len), kReadAhead - len}};
    ssize_t n = process_vm_readv(tid_, &local, 1, remote, 2, 0);
    if (n < static_cast<ssize_t>(len)) {
        if (n < 0 && (errno == EPERM || errno == ESRCH || errno == ENOSYS)) denied_ = true;
        return -EFAULT;
    }
    touched_ = true;
    cache_addr_ = addr;
    cache_len_ = static_cast<size_t>(n);
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
            std::memcpy(cache_ + (lo - cache_addr_), static_cast<const unsigned char*>(src) +
                                                         (lo - addr), hi - lo);
    }
    return rc;
}

}  // namespace ioasid::cuse
