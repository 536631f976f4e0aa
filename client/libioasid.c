/* SPDX-License-Identifier: MIT */
#include "ioasid/libioasid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ioasid/ioasidd.h"

static ssize_t region_rw(int fd, int write, void* buf, size_t count, uint64_t offset) {
    struct ioasidd_region_rw rw = {
        .argsz = sizeof(rw),
        .flags = write ? IOASIDD_REGION_WRITE : 0,
        .offset = offset,
        .length = count,
        .data = (uintptr_t)buf,
    };
    int rc = ioctl(fd, IOASIDD_REGION_RW, &rw);
    if (rc >= 0 || errno != ENOTTY) return rc;
    /* A kernel's VFIO device: the file offset carries the region. */
    return write ? pwrite(fd, buf, count, (off_t)offset) : pread(fd, buf, count, (off_t)offset);
}

ssize_t ioasid_pread(int device_fd, void* buf, size_t count, uint64_t offset) {
    return region_rw(device_fd, 0, buf, count, offset);
}

ssize_t ioasid_pwrite(int device_fd, const void* buf, size_t count, uint64_t offset) {
    return region_rw(device_fd, 1, (void*)buf, count, offset);
}

int ioasid_is_ioasidd(int fd) {
    /* ioasidd's nodes are CUSE devices; the kernel's are not. (An ioctl
     * probe cannot tell: an unbound VFIO device answers everything EINVAL.) */
    struct stat st;
    if (fstat(fd, &st) || !S_ISCHR(st.st_mode)) return 0;
    char path[96], link[256];
    snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem", major(st.st_rdev),
             minor(st.st_rdev));
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) return 0;
    link[n] = 0;
    const char* base = strrchr(link, '/');
    return strcmp(base ? base + 1 : link, "cuse") == 0;
}
