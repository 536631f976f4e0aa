#include "groups.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
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
    {
        SavedErrno keep;
        kvm_groups().device_opened(group_fd, fd);
    }
    return fd;
}

namespace {

// The most group fds carried: one per device of a slot or bus. A larger
// count goes without them, for the daemon's count check to refuse.
constexpr uint32_t kMaxResetFds = 256;

// How PCI_HOT_RESET_GROUPS names one of the caller's group fds.
uint64_t reset_cookie(int32_t fd) {
    if (fd < 0 || libc().fcntl(fd, F_GETFD) < 0) return IOASIDD_HOT_RESET_NO_FILE;
    uint64_t cookie;
    if (Router::instance().kind(fd) != FileKind::Group ||
        libc().ioctl(fd, IOASIDD_FILE_COOKIE, &cookie))
        return IOASIDD_HOT_RESET_NOT_OURS;
    return cookie;
}

}  // namespace

bool device_hot_reset(int device_fd, const void* arg, int& rc) {
    vfio_pci_hot_reset hdr;
    const auto at = reinterpret_cast<uintptr_t>(arg);
    if (!arg || !read_own(at, &hdr, sizeof(hdr)) || hdr.count == 0) return false;
    SavedErrno keep;
    ioasidd_hot_reset_groups g{};
    g.argsz = sizeof(g);
    g.vfio_argsz = hdr.argsz;
    g.vfio_flags = hdr.flags;
    g.count = hdr.count;
    std::vector<uint64_t> words(sizeof(g) / 8);
    if (hdr.count <= kMaxResetFds) {
        std::vector<int32_t> fds(hdr.count);
        if (!read_own(at + sizeof(hdr), fds.data(), fds.size() * 4)) {
            g.flags |= IOASIDD_HOT_RESET_FDS_UNREADABLE;
        } else {
            for (int32_t fd : fds) words.push_back(reset_cookie(fd));
            g.argsz = static_cast<uint32_t>(words.size() * 8);
        }
    }
    std::memcpy(words.data(), &g, sizeof(g));
    rc = libc().ioctl(device_fd, IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, words.data());
    if (rc < 0) keep.saved = errno;
    return true;
}

}  // namespace ioasid::preload
