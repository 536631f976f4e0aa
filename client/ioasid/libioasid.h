/* SPDX-License-Identifier: MIT */
/*
 * libioasid: what a VMM calls instead of pread/pwrite on a VFIO device fd,
 * so that one program drives both a kernel's VFIO device cdev and an
 * ioasidd device node (CUSE passes no file offset to a daemon, so ioasidd
 * serves region access through IOASIDD_REGION_RW instead).
 *
 * On a kernel's device the calls are pread/pwrite; on ioasidd's the
 * ioctl. Return values and errno follow pread/pwrite.
 */
#ifndef IOASID_LIBIOASID_H
#define IOASID_LIBIOASID_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `offset` is a VFIO device file offset: a region's offset from
 * VFIO_DEVICE_GET_REGION_INFO plus the offset inside the region. */
ssize_t ioasid_pread(int device_fd, void* buf, size_t count, uint64_t offset);
ssize_t ioasid_pwrite(int device_fd, const void* buf, size_t count, uint64_t offset);

/* 1 when `fd` is a node served through CUSE (ioasidd's), 0 for a kernel's
 * node; asks sysfs. */
int ioasid_is_ioasidd(int fd);

#ifdef __cplusplus
}
#endif

#endif /* IOASID_LIBIOASID_H */
