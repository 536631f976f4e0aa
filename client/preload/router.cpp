#include "router.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "channel.h"
#include "ioasid/ioasidd.h"
#include "ioasid/kvm_vfio.h"
#include "ioasid/vfio.h"
#include "kvm_groups.h"
#include "libc_calls.h"

namespace ioasid::preload {
namespace {

// The most one read or write moves, as rw_verify_area() clamps it.
constexpr size_t kMaxRwCount = INT_MAX & ~static_cast<size_t>(4095);
// preadv2 flags a file without read_iter takes (do_loop_readv_writev()).
constexpr int kRwfHipri = 0x1;

// Keeps errno across the library's own calls, so that a call that
// succeeds leaves it as the program set it.
struct SavedErrno {
    int saved = errno;
    ~SavedErrno() { errno = saved; }
};

ssize_t fail(int err) {
    errno = err;
    return -1;
}

// ioasidd's nodes are CUSE devices. The private ioctl goes only to those:
// other drivers use ioctl type 0xA5 (the Surface aggregator does).
bool is_cuse_device(dev_t rdev) {
    char path[64], link[128];
    std::snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem", major(rdev), minor(rdev));
    const ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0) return false;
    link[n] = 0;
    const char* base = std::strrchr(link, '/');
    return std::strcmp(base ? base + 1 : link, "cuse") == 0;
}

}  // namespace

Router& Router::instance() {
    // Never destroyed: intercepted calls arrive from other libraries'
    // destructors, after this library's static objects would be gone.
    static Router* router = new Router();
    return *router;
}

FileKind Router::classify(int fd) {
    SavedErrno keep;
    struct stat st;
    if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || !is_cuse_device(st.st_rdev))
        return FileKind::Other;
    switch (libc().ioctl(fd, IOASIDD_NODE_KIND, 0)) {
        case IOASIDD_NODE_IOMMUFD:
            return FileKind::Iommufd;
        case IOASIDD_NODE_DEVICE:
            return FileKind::Device;
        case IOASIDD_NODE_CONTAINER:
            return FileKind::Container;
        case IOASIDD_NODE_GROUP:
            return FileKind::Group;
        default:
            return FileKind::Other;
    }
}

FileKind Router::kind(int fd) {
    FileKind k = table_.get(fd);
    if (k != FileKind::Unknown) return k;
    k = classify(fd);
    table_.set(fd, k);
    return k;
}

// IOASIDD_REGION_{READ,WRITE}_FAST for an access of 1, 2 or 4 bytes of a
// region below 4 GiB, which is what a vCPU's MMIO and QEMU's config space
// accesses are: one round trip that copies nothing from the program's
// memory. False when the access is not of that form or the daemon says
// the general command must make it (E2BIG, or ENOTTY: an older daemon, or
// the number names another file now, which the general command finds).
bool Router::region_fast(int fd, bool write, void* buf, size_t count, off_t offset,
                         ssize_t& result) {
    if (count != 1 && count != 2 && count != 4) return false;
    const uint64_t index = IOASID_VFIO_PCI_OFFSET_TO_INDEX(static_cast<uint64_t>(offset));
    const uint64_t off = static_cast<uint64_t>(offset) & IOASID_VFIO_PCI_OFFSET_MASK;
    if (index > 7 || off > 0xffffffffu) return false;
    const unsigned log2 = count == 4 ? 2 : count == 2 ? 1 : 0;
    const auto i = static_cast<unsigned>(index);
    uint32_t value = 0;
    if (write) std::memcpy(&value, buf, count);
    const uint64_t arg = off | static_cast<uint64_t>(value) << 32;
    SavedErrno keep;
    const int r = libc().ioctl(
        fd, write ? IOASIDD_REGION_WRITE_FAST(i, log2) : IOASIDD_REGION_READ_FAST(i, log2), arg);
    // A read's value is any other int, even a negative one; -1 is an error.
    if (r != -1) {
        if (!write) {
            value = static_cast<uint32_t>(r) ^ IOASIDD_REGION_FAST_FLIP;
            std::memcpy(buf, &value, count);
        }
        result = static_cast<ssize_t>(count);
        return true;
    }
    const int err = errno;
    if (err == E2BIG || err == ENOTTY) return false;
    if (err == EOVERFLOW && !write) {
        // 0x7ffff001-0x7fffffff: the daemon holds the low 12 bits for us.
        const int low = libc().ioctl(fd, IOASIDD_REGION_FAST_HELD, 0);
        if (low < 0) return false;
        value = IOASIDD_REGION_FAST_HELD_BASE + static_cast<uint32_t>(low);
        std::memcpy(buf, &value, count);
        result = static_cast<ssize_t>(count);
        return true;
    }
    keep.saved = err;
    result = -1;
    return true;
}

ssize_t Router::region_rw(int fd, bool write, void* buf, size_t count, off_t offset) {
    if (offset < 0) return fail(EINVAL);
    ssize_t fast;
    if (region_fast(fd, write, buf, count, offset, fast)) return fast;
    ioasidd_region_rw rw{};
    rw.argsz = sizeof(rw);
    rw.flags = write ? IOASIDD_REGION_WRITE : 0;
    rw.offset = static_cast<uint64_t>(offset);
    rw.length = count < kMaxRwCount ? count : kMaxRwCount;
    rw.data = reinterpret_cast<uintptr_t>(buf);
    return libc().ioctl(fd, IOASIDD_REGION_RW, &rw);
}

ssize_t Router::device_pread(int fd, void* buf, size_t count, off_t offset) {
    const ssize_t n = region_rw(fd, false, buf, count, offset);
    // ENOTTY: the number was closed behind the library's back and now names
    // another file (a kernel's device, whose file offset carries the region).
    if (n < 0 && errno == ENOTTY) {
        table_.set(fd, FileKind::Other);
        return libc().pread64(fd, buf, count, offset);
    }
    return n;
}

ssize_t Router::device_pwrite(int fd, const void* buf, size_t count, off_t offset) {
    const ssize_t n = region_rw(fd, true, const_cast<void*>(buf), count, offset);
    if (n < 0 && errno == ENOTTY) {
        table_.set(fd, FileKind::Other);
        return libc().pwrite64(fd, buf, count, offset);
    }
    return n;
}

// vfs_readv()/vfs_writev() on a file with plain read/write: one access per
// iovec at successive offsets, ending at the first short one; an error
// after some bytes moved returns the bytes.
ssize_t Router::vectored(int fd, bool write, const iovec* iov, int iovcnt, off_t offset,
                         int flags) {
    if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
    if (flags & ~kRwfHipri) return fail(EOPNOTSUPP);
    // -1 asks for the file position, which CUSE does not keep for a daemon.
    if (offset == -1) return fail(ESPIPE);
    size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) {
        total += iov[i].iov_len;
        if (static_cast<ssize_t>(total) < 0) return fail(EINVAL);
    }
    size_t done = 0;
    for (int i = 0; i < iovcnt && done < kMaxRwCount; ++i) {
        const size_t want = std::min(iov[i].iov_len, kMaxRwCount - done);
        const ssize_t n =
            region_rw(fd, write, iov[i].iov_base, want, offset + static_cast<off_t>(done));
        if (n < 0) return done ? static_cast<ssize_t>(done) : -1;
        done += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < want) break;
    }
    return static_cast<ssize_t>(done);
}

ssize_t Router::device_preadv(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    const ssize_t n = vectored(fd, false, iov, iovcnt, offset, flags);
    if (n < 0 && errno == ENOTTY) {  // no longer ioasidd's: see device_pread
        table_.set(fd, FileKind::Other);
        return libc().preadv64v2(fd, iov, iovcnt, offset, flags);
    }
    return n;
}

ssize_t Router::device_pwritev(int fd, const iovec* iov, int iovcnt, off_t offset, int flags) {
    const ssize_t n = vectored(fd, true, iov, iovcnt, offset, flags);
    if (n < 0 && errno == ENOTTY) {
        table_.set(fd, FileKind::Other);
        return libc().pwritev64v2(fd, iov, iovcnt, offset, flags);
    }
    return n;
}

void* Router::device_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
    ioasidd_channel_request req = channel_request(IOASIDD_CHANNEL_MMAP);
    req.offset = static_cast<uint64_t>(offset);
    req.length = len;
    req.prot = static_cast<uint32_t>(prot);
    req.flags = static_cast<uint32_t>(flags);
    ioasidd_channel_reply reply{};
    host::UniqueFd file;
    int rc = channel_ask(fd, req, reply, file);
    // EBADF: the number was closed behind the library's back and may now
    // name another file; it is looked at again.
    if (rc == -EBADF) {
        table_.forget(fd);
        if (kind(fd) != FileKind::Device) return libc().mmap64(addr, len, prot, flags, fd, offset);
    }
    if (rc == 0 && !file) rc = -ENODEV;
    if (rc < 0) {
        // No channel: the node's own answer, as without the library.
        errno = channel_unreachable(rc) ? ENODEV : -rc;
        return MAP_FAILED;
    }
    return libc().mmap64(addr, len, prot, flags, file.get(), static_cast<off_t>(reply.offset));
}

bool read_own(uint64_t addr, void* out, size_t len) {
    iovec local{out, len};
    iovec remote{reinterpret_cast<void*>(static_cast<uintptr_t>(addr)), len};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

namespace {

// KVM names its device files after the device type ("kvm-vfio").
bool is_kvm_vfio_device(int fd) {
    static constexpr char kName[] = "anon_inode:kvm-vfio";
    char path[40], link[sizeof(kName) + 1];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(path, link, sizeof(link));
    return n == static_cast<ssize_t>(sizeof(kName) - 1) && std::memcmp(link, kName, n) == 0;
}

// The library's KvmGroups::Port: the VMM channel and the kernel's KVM.
struct KvmPort final : KvmGroups::Port {
    int real_file(int device_fd, host::UniqueFd& out) override {
        ioasidd_channel_reply reply{};
        const int rc =
            channel_ask(device_fd, channel_request(IOASIDD_CHANNEL_KVM_FILE), reply, out);
        return channel_unreachable(rc) ? 0 : rc;
    }
    int kvm_file(int kvm_fd, uint64_t attr, int file) override {
        int32_t real = file;
        kvm_device_attr a{0, KVM_DEV_VFIO_FILE, attr, reinterpret_cast<uintptr_t>(&real)};
        return libc().ioctl(kvm_fd, KVM_SET_DEVICE_ATTR, &a) ? -errno : 0;
    }
};

}  // namespace

KvmGroups& kvm_groups() {
    static KvmPort* port = new KvmPort();  // never destroyed, as the Router
    static KvmGroups* groups = new KvmGroups(*port);
    return *groups;
}

// KVM accepts only its own VFIO files: for an ioasidd device the kernel
// would answer EBADF/EINVAL, and QEMU 10 gives up. A forwarded device's
// real VFIO file (its group's on the legacy API) comes from the daemon and
// goes to KVM instead; a FILE_DEL names the same file again. An emulated
// device needs nothing from KVM: its interrupts arrive through the irqfds
// QEMU hands SET_IRQS, and its DMA through the IOAS. (Nothing is
// registered, so KVM does not learn of non-coherent DMA; ioasidd's devices
// have none.) Without a channel the library answers as for an emulated one.
// QEMU 7.2 adds its groups: ioasidd's group is remembered, and the real
// files of the devices it gives go to KVM then (kvm_groups.h).
bool Router::kvm_vfio_attr(int kvm_fd, const void* arg, int* rc) {
    kvm_device_attr attr;
    int32_t file_fd;
    {
        SavedErrno keep;
        if (!arg || !read_own(reinterpret_cast<uintptr_t>(arg), &attr, sizeof(attr))) return false;
        if (attr.group != KVM_DEV_VFIO_FILE ||
            (attr.attr != KVM_DEV_VFIO_FILE_ADD && attr.attr != KVM_DEV_VFIO_FILE_DEL))
            return false;
        if (!read_own(attr.addr, &file_fd, sizeof(file_fd))) return false;
        const FileKind k = kind(file_fd);
        if ((k != FileKind::Device && k != FileKind::Group) || !is_kvm_vfio_device(kvm_fd))
            return false;
        if (k == FileKind::Group) {
            const int r = attr.attr == KVM_DEV_VFIO_FILE_ADD
                              ? kvm_groups().group_added(kvm_fd, file_fd)
                              : kvm_groups().group_deleted(kvm_fd, file_fd);
            if (r) keep.saved = -r;
            *rc = r ? -1 : 0;
            return true;
        }
    }
    ioasidd_channel_reply reply{};
    host::UniqueFd file;
    const int asked = channel_ask(file_fd, channel_request(IOASIDD_CHANNEL_KVM_FILE), reply, file);
    if (channel_unreachable(asked) || (asked == 0 && !file)) {
        *rc = 0;
        return true;
    }
    if (asked < 0) {
        errno = -asked;
        *rc = -1;
        return true;
    }
    int32_t real = file.get();
    kvm_device_attr copy = attr;
    copy.addr = reinterpret_cast<uintptr_t>(&real);
    *rc = libc().ioctl(kvm_fd, KVM_SET_DEVICE_ATTR, &copy);
    return true;
}

}  // namespace ioasid::preload
