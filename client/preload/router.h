// Routes the calls the preload library intercepts: a call on one of
// ioasidd's files is carried the way CUSE allows, every other call goes to
// libc untouched. The shape of libcamera's v4l2-compat, for VFIO.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "fd_table.h"
#include "kvm_groups.h"

namespace ioasid::preload {

// Reads the program's memory at `addr` as the kernel would copy it in: a
// bad pointer is a failed read, not a crash in the library.
bool read_own(uint64_t addr, void* out, size_t len);

// The groups added to KVM and the real files given it for their devices.
KvmGroups& kvm_groups();

class Router {
  public:
    static Router& instance();

    // What fd is, classified on first use and cached until the number
    // changes hands. Leaves errno as it was.
    FileKind kind(int fd);
    FdTable& table() { return table_; }

    // pread/pwrite and the vectored calls on an ioasidd device: region
    // access through IOASIDD_REGION_RW at the device file offset, with the
    // answers vfs_read()/vfs_write() give for a VFIO device. -1 and errno
    // on failure, as libc's.
    ssize_t device_pread(int fd, void* buf, size_t count, off_t offset);
    ssize_t device_pwrite(int fd, const void* buf, size_t count, off_t offset);
    ssize_t device_preadv(int fd, const iovec* iov, int iovcnt, off_t offset, int flags);
    ssize_t device_pwritev(int fd, const iovec* iov, int iovcnt, off_t offset, int flags);

    // mmap of an ioasidd device file: the file and offset the daemon names
    // (a forwarded device's real BAR) mapped instead; MAP_FAILED and errno
    // as the kernel's mmap when the daemon refuses, ENODEV (CUSE's answer)
    // for a region that traps or when no daemon listens on the channel.
    void* device_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset);

    // KVM_SET_DEVICE_ATTR on a kvm-vfio device naming an ioasidd file:
    // true when the library answered it (result in *rc), false to pass the
    // call to the kernel.
    bool kvm_vfio_attr(int kvm_fd, const void* attr, int* rc);

  private:
    Router() = default;
    FileKind classify(int fd);
    ssize_t region_rw(int fd, bool write, void* buf, size_t count, off_t offset);
    bool region_fast(int fd, bool write, void* buf, size_t count, off_t offset, ssize_t& result);
    ssize_t vectored(int fd, bool write, const iovec* iov, int iovcnt, off_t offset, int flags);

    FdTable table_;
};

}  // namespace ioasid::preload
