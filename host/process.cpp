#include "host/process.h"

#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ioasid::host {

namespace {

int sys_pidfd_open(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int sys_pidfd_getfd(int pidfd, int fd) {
    return static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
}

// process_vm_*v move at most IOV_MAX pieces and may stop short at a page
// that is not mapped; loop until done, a short transfer is a fault.
int transfer(pid_t pid, uint64_t addr, void* buf, uint64_t len, bool write) {
    auto* p = static_cast<char*>(buf);
    while (len) {
        iovec local{p, len};
        iovec remote{reinterpret_cast<void*>(addr), len};
        ssize_t n = write ? ::process_vm_writev(pid, &local, 1, &remote, 1, 0)
                          : ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0) return -EFAULT;
        p += n;
        addr += static_cast<uint64_t>(n);
        len -= static_cast<uint64_t>(n);
    }
    return 0;
}

}  // namespace

int fd_from_process(pid_t pid, int fd, UniqueFd& out) {
    if (pid <= 0) return -ESRCH;
    UniqueFd pidfd(sys_pidfd_open(pid));
    if (!pidfd) return -errno;
    int dup = sys_pidfd_getfd(pidfd.get(), fd);
    if (dup < 0) return -errno;
    out.reset(dup);
    return 0;
}

bool is_eventfd(int fd) {
    char link[64];
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(path.c_str(), link, sizeof(link) - 1);
    if (n < 0) return false;
    link[n] = 0;
    return std::strcmp(link, "anon_inode:[eventfd]") == 0;
}

int process_read(pid_t pid, uint64_t addr, void* dst, uint64_t len) {
    return transfer(pid, addr, dst, len, false);
}

int process_write(pid_t pid, uint64_t addr, const void* src, uint64_t len) {
    return transfer(pid, addr, const_cast<void*>(src), len, true);
}

void EventfdSignal::signal() {
    // Adds one, as eventfd_signal() does. A write blocks only at a counter
    // of 2^64-2 unread interrupts, which no client reaches.
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof(one));
}

uint64_t random_u64() {
    uint64_t v = 0;
    // A few bytes from an initialised pool never come back short.
    while (::getrandom(&v, sizeof(v), 0) != static_cast<ssize_t>(sizeof(v)) && errno == EINTR) {
    }
    return v;
}

uint64_t random_cookie() {
    uint64_t v;
    while ((v = random_u64()) == 0 || v == ~uint64_t{0}) {
    }
    return v;
}

}  // namespace ioasid::host
