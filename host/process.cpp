#include "host/process.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace ioasid::host {

namespace {

std::string to_hex(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return buf;
}

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

namespace {

struct Vma {
    uint64_t start, end, offset;
    bool shared;
    std::string path;
};

// The VMAs of `pid` that intersect [addr, addr + length), in order.
int read_vmas(pid_t pid, uint64_t addr, uint64_t length, std::vector<Vma>& out) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    if (!maps) return -ESRCH;
    std::string line;
    const uint64_t end = addr + length;
    while (std::getline(maps, line)) {
        Vma v{};
        char perms[8] = {};
        unsigned long long s = 0, e = 0, off = 0;
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off,
                        &path_at) < 4)
            continue;
        if (e <= addr || s >= end) continue;
        v.start = s;
        v.end = e;
        v.offset = off;
        v.shared = perms[3] == 's';
        v.path = path_at ? line.substr(static_cast<size_t>(path_at)) : "";
        out.push_back(v);
    }
    return 0;
}

}  // namespace

SharedView::~SharedView() {
    for (const Piece& p : pieces_) ::munmap(reinterpret_cast<void*>(p.local), p.length);
}

int SharedView::map(pid_t pid, uint64_t addr, uint64_t length, bool writable, std::string& why) {
    std::vector<Vma> vmas;
    int rc = read_vmas(pid, addr, length, vmas);
    if (rc) return rc;
    uint64_t at = addr;
    for (const Vma& v : vmas) {
        if (v.start > at) break;  // a hole
        if (!v.shared) {
            why = "private memory at 0x" + to_hex(at) +
                  (v.path.empty() ? " (anonymous)" : " (" + v.path + ")");
            return -EOPNOTSUPP;
        }
        const uint64_t piece_end = std::min(v.end, addr + length);
        const std::string file =
            "/proc/" + std::to_string(pid) + "/map_files/" + to_hex(v.start) + "-" + to_hex(v.end);
        UniqueFd fd(::open(file.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
        if (!fd) {
            why = "cannot open " + file + ": " + std::strerror(errno);
            return -EFAULT;
        }
        const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
        void* local = ::mmap(nullptr, piece_end - at, prot, MAP_SHARED, fd.get(),
                             static_cast<off_t>(v.offset + (at - v.start)));
        if (local == MAP_FAILED) {
            why = std::string("mmap of ") + file + ": " + std::strerror(errno);
            return -EFAULT;
        }
        pieces_.push_back({reinterpret_cast<uint64_t>(local), at, piece_end - at});
        at = piece_end;
        if (at == addr + length) return 0;
    }
    why = "no memory at 0x" + to_hex(at);
    return -EFAULT;
}

void EventfdSignal::signal() {
    // Adds one, as eventfd_signal() does. A write blocks only at a counter
    // of 2^64-2 unread interrupts, which no client reaches.
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof(one));
}

}  // namespace ioasid::host
