// libioasid-preload.so: the symbols a VMM calls, interposed with
// LD_PRELOAD. Each one asks the router whether the fd is one of ioasidd's
// files; if not, the call goes to libc as it came. Nothing else lives here.
//
// Built without _FILE_OFFSET_BITS and _FORTIFY_SOURCE, so that every name
// below is the symbol itself, not a header's redirect to another one.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "groups.h"
#include "ioasid/kvm_vfio.h"
#include "ioasid/vfio.h"
#include "libc_calls.h"
#include "router.h"

using ioasid::preload::device_hot_reset;
using ioasid::preload::FileKind;
using ioasid::preload::group_get_device_fd;
using ioasid::preload::group_set_container;
using ioasid::preload::libc;
using ioasid::preload::open_group_path;
using ioasid::preload::Router;

namespace {

bool is_device(int fd) {
    return Router::instance().kind(fd) == FileKind::Device;
}

// Any call that hands the program an fd number: whatever the library knew
// of that number belonged to a file that is gone.
int forget(int fd) {
    if (fd >= 0) Router::instance().table().forget(fd);
    return fd;
}

// An open of the group API's fixed paths may be ioasidd's (see groups.h).
bool group_open(const char* path, int flags, int& fd) {
    return ioasid::preload::is_vfio_path(path) && open_group_path(path, flags, fd);
}

[[noreturn]] void buffer_overflow() {
    // What glibc's __chk_fail does: the fortified caller's buffer is smaller
    // than the count it asked for.
    std::fputs("*** buffer overflow detected ***: terminated\n", stderr);
    std::abort();
}

}  // namespace

#define EXPORT extern "C" __attribute__((visibility("default")))

// ---- region access: pread/pwrite at device file offsets ----

EXPORT ssize_t pread64(int fd, void* buf, size_t count, off_t offset) {
    if (is_device(fd)) return Router::instance().device_pread(fd, buf, count, offset);
    return libc().pread64(fd, buf, count, offset);
}

EXPORT ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
    return pread64(fd, buf, count, offset);
}

EXPORT ssize_t __pread64_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen) {
    if (!is_device(fd)) return libc().pread64_chk(fd, buf, count, offset, buflen);
    if (count > buflen) buffer_overflow();
    return Router::instance().device_pread(fd, buf, count, offset);
}

EXPORT ssize_t __pread_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen) {
    if (!is_device(fd)) return libc().pread_chk(fd, buf, count, offset, buflen);
    if (count > buflen) buffer_overflow();
    return Router::instance().device_pread(fd, buf, count, offset);
}

EXPORT ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
    if (is_device(fd)) return Router::instance().device_pwrite(fd, buf, count, offset);
    return libc().pwrite64(fd, buf, count, offset);
}

EXPORT ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
    return pwrite64(fd, buf, count, offset);
}

EXPORT ssize_t preadv64v2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    if (is_device(fd)) return Router::instance().device_preadv(fd, iov, iovcnt, offset, flags);
    return libc().preadv64v2(fd, iov, iovcnt, offset, flags);
}

EXPORT ssize_t preadv2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    return preadv64v2(fd, iov, iovcnt, offset, flags);
}

EXPORT ssize_t preadv64(int fd, const iovec* iov, int iovcnt, off_t offset) {
    if (is_device(fd)) return Router::instance().device_preadv(fd, iov, iovcnt, offset, 0);
    return libc().preadv64(fd, iov, iovcnt, offset);
}

EXPORT ssize_t preadv(int fd, const iovec* iov, int iovcnt, off_t offset) {
    return preadv64(fd, iov, iovcnt, offset);
}

EXPORT ssize_t pwritev64v2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    if (is_device(fd)) return Router::instance().device_pwritev(fd, iov, iovcnt, offset, flags);
    return libc().pwritev64v2(fd, iov, iovcnt, offset, flags);
}

EXPORT ssize_t pwritev2(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    return pwritev64v2(fd, iov, iovcnt, offset, flags);
}

EXPORT ssize_t pwritev64(int fd, const iovec* iov, int iovcnt, off_t offset) {
    if (is_device(fd)) return Router::instance().device_pwritev(fd, iov, iovcnt, offset, 0);
    return libc().pwritev64(fd, iov, iovcnt, offset);
}

EXPORT ssize_t pwritev(int fd, const iovec* iov, int iovcnt, off_t offset) {
    return pwritev64(fd, iov, iovcnt, offset);
}

// ---- mmap of a region: the file the daemon names ----

EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset) noexcept {
    // Anonymous maps (fd -1) are most of them: one comparison.
    if (fd >= 0 && !(flags & MAP_ANONYMOUS) && is_device(fd))
        return Router::instance().device_mmap(addr, len, prot, flags, fd, offset);
    return libc().mmap64(addr, len, prot, flags, fd, offset);
}

EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) noexcept {
    return mmap64(addr, len, prot, flags, fd, offset);
}

// ---- KVM: the kvm-vfio device's file attribute ----

EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    // Few comparisons for every other ioctl: KVM_RUN is on the vCPU hot path.
    if (request == KVM_SET_DEVICE_ATTR) {
        int rc;
        if (Router::instance().kvm_vfio_attr(fd, arg, &rc)) return rc;
    } else if (request == VFIO_GROUP_SET_CONTAINER || request == VFIO_GROUP_GET_DEVICE_FD) {
        if (Router::instance().kind(fd) == FileKind::Group)
            return request == VFIO_GROUP_SET_CONTAINER ? group_set_container(fd, arg)
                                                       : group_get_device_fd(fd, arg);
    } else if (request == VFIO_DEVICE_PCI_HOT_RESET) {
        int rc;
        if (Router::instance().kind(fd) == FileKind::Device && device_hot_reset(fd, arg, rc))
            return rc;
    }
    return libc().ioctl(fd, request, arg);
}

// ---- where fd numbers change hands ----

EXPORT int close(int fd) {
    if (fd >= 0 && Router::instance().table().get(fd) == FileKind::Group)
        ioasid::preload::kvm_groups().group_closed(fd);
    const int rc = libc().close(fd);
    forget(fd);  // after: a racing open of the number is then re-checked
    return rc;
}

EXPORT int close_range(unsigned first, unsigned last, int flags) noexcept {
    if (!libc().close_range) {
        errno = ENOSYS;
        return -1;
    }
    const int rc = libc().close_range(first, last, flags);
    if (rc == 0) Router::instance().table().forget_range(first, last);
    return rc;
}

EXPORT int dup(int fd) noexcept {
    return forget(libc().dup(fd));
}

EXPORT int dup2(int fd, int fd2) noexcept {
    return forget(libc().dup2(fd, fd2));
}

EXPORT int dup3(int fd, int fd2, int flags) noexcept {
    return forget(libc().dup3(fd, fd2, flags));
}

// Every fcntl argument is an int or a pointer, passed in one register.
EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    const int rc = libc().fcntl(fd, cmd, arg);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) forget(rc);
    return rc;
}

EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fcntl64(fd, cmd, arg);
}

namespace {
mode_t mode_arg(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}
}  // namespace

EXPORT int open64(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().open64(path, flags, mode));
}

EXPORT int open(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().open64(path, flags, mode));
}

EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().openat64(dirfd, path, flags, mode));
}

EXPORT int openat(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().openat64(dirfd, path, flags, mode));
}

EXPORT int __open64_2(const char* path, int flags) {
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().open64_2(path, flags));
}

EXPORT int __open_2(const char* path, int flags) {
    return __open64_2(path, flags);
}

EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
    if (int fd; group_open(path, flags, fd)) return fd;
    return forget(libc().openat64_2(dirfd, path, flags));
}

EXPORT int __openat_2(int dirfd, const char* path, int flags) {
    return __openat64_2(dirfd, path, flags);
}

// A manager such as libvirt passes fds over a socket (SCM_RIGHTS).
EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
    const ssize_t n = libc().recvmsg(fd, msg, flags);
    if (n < 0 || !msg) return n;
    for (cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const int* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
        for (size_t i = 0; i < count; ++i) forget(fds[i]);
    }
    return n;
}
