#include "groups.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ioasid/ioasidd.h"
#include "libc_calls.h"
#include "router.h"

namespace ioasid::preload {

namespace {

// Whether the last group this process opened was ioasidd's: QEMU opens a
// group, then (when no container of its takes the group) /dev/vfio/vfio
// for it, so that container goes where the group is.
std::atomic<bool> last_group_ours{false};

// Keeps errno across the library's own calls on success.
struct SavedErrno {
    int saved = errno;
    ~SavedErrno() { errno = saved; }
};

// An open of ioasidd's /dev/ioasid: $IOASIDD_IOMMUFD, else /dev/ioasid,
// else /dev/iommu when that is ioasidd's (its upstream names). -1 if none.
int open_ioasid(int flags) {
    const int mode = O_RDWR | (flags & O_CLOEXEC);
    const char* env = std::getenv("IOASIDD_IOMMUFD");
    const char* const candidates[] = {env && *env ? env : "/dev/ioasid", "/dev/iommu"};
    for (const char* path : candidates) {
        const int fd = libc().open64(path, mode, 0);
        if (fd < 0) continue;
        Router::instance().table().forget(fd);
        if (Router::instance().kind(fd) == FileKind::Iommufd) return fd;
        libc().close(fd);
        Router::instance().table().forget(fd);
    }
    return -1;
}

bool group_number(const char* tail, unsigned long& n) {
    if (!*tail) return false;
    for (const char* p = tail; *p; ++p)
        if (*p < '0' || *p > '9') return false;
    n = std::strtoul(tail, nullptr, 10);
    return n <= UINT32_MAX;
}

int fail(int err) {
    errno = err;
    return -1;
}

}  // namespace

bool open_group_path(const char* path, int flags, int& fd) {
    const char* tail = path + 10;  // after "/dev/vfio/"
    unsigned long group = 0;
    const bool container = std::strcmp(tail, "vfio") == 0;
    if (!container && !group_number(tail, group)) return false;
    if (container && !last_group_ours) return false;
    SavedErrno keep;
    const int ours = open_ioasid(flags);
    if (ours < 0) return false;  // no ioasidd here: the kernel's paths
    const int rc = libc().ioctl(ours, container ? IOASIDD_VFIO_CONTAINER : IOASIDD_VFIO_GROUP,
                                container ? 0ul : group);
    const int err = errno;
    if (rc == 0) {
        Router::instance().table().set(ours, container ? FileKind::Container : FileKind::Group);
        if (!container) last_group_ours = true;
        fd = ours;
        return true;
    }
    libc().close(ours);
    Router::instance().table().forget(ours);
    if (!container && err == ENODEV) {  // not one of ioasidd's groups
        last_group_ours = false;
        return false;
    }
    keep.saved = err;
    fd = -1;
    return true;
}

int group_set_container(int group_fd, const void* arg) {
    int32_t container;
    if (!arg || !read_own(reinterpret_cast<uintptr_t>(arg), &container, sizeof(container)))
        return fail(EFAULT);
    if (libc().fcntl(container, F_GETFD) < 0) return fail(EBADF);
    const FileKind kind = Router::instance().kind(container);
    if (kind != FileKind::Container && kind != FileKind::Iommufd) return fail(EBADFD);
    uint64_t cookie;
    if (libc().ioctl(container, IOASIDD_FILE_COOKIE, &cookie)) return fail(EBADFD);
    return libc().ioctl(group_fd, IOASIDD_GROUP_SET_CONTAINER, &cookie);
}

int group_get_device_fd(int group_fd, const void* name) {
    ioasidd_group_device gd{};
    gd.argsz = sizeof(gd);
    gd.name = reinterpret_cast<uintptr_t>(name);
    if (libc().ioctl(group_fd, IOASIDD_GROUP_FIND_DEVICE, &gd)) return -1;
    gd.out_devname[sizeof(gd.out_devname) - 1] = 0;
    const std::string node = std::string("/dev/") + gd.out_devname;
    // get_unused_fd_flags(O_CLOEXEC), as the kernel's group gives it.
    const int fd = libc().open64(node.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) return -1;
    Router::instance().table().forget(fd);
    int rc = libc().ioctl(fd, IOASIDD_FILE_COOKIE, &gd.cookie);
    if (rc == 0) rc = libc().ioctl(group_fd, IOASIDD_GROUP_OPEN_DEVICE, &gd);
    if (rc) {
        const int err = errno;
        libc().close(fd);
        Router::instance().table().forget(fd);
        return fail(err);
    }
    Router::instance().table().set(fd, FileKind::Device);
    return fd;
}

}  // namespace ioasid::preload
