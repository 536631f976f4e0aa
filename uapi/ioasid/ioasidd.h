/* SPDX-License-Identifier: MIT */
/*
 * ioasidd's own ioctls: what CUSE cannot carry through the upstream ABI, and
 * the group question of the original /dev/ioasid proposal.
 *
 * They live in an ioctl type of their own (IOASIDD_TYPE) so that they can
 * never collide with a future iommufd or VFIO number. A kernel's /dev/iommu
 * or VFIO device answers them with ENOTTY: a program can use that to tell
 * ioasidd's nodes from the kernel's (libioasid does).
 *
 * Every struct starts with argsz and flags and follows the VFIO rules:
 * argsz below the struct's minimum is EINVAL, unknown flags are EINVAL.
 */
#ifndef IOASID_UAPI_IOASIDD_H
#define IOASID_UAPI_IOASIDD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOASIDD_TYPE 0xA5

/*
 * IOASIDD_GROUP_STATUS, on /dev/ioasid.
 *
 * Answers "may the devices of this IOMMU group be given to userspace, and who
 * holds them". `id` names the group by number, or with
 * IOASIDD_GROUP_BY_DEVID a device bound to this context by the dev_id
 * VFIO_DEVICE_BIND_IOMMUFD returned.
 *
 * out_flags:
 *   VIABLE           every device of the group is bound to vfio-pci, emulated
 *                    by ioasidd, bound to no driver, or bound to a driver the
 *                    kernel tolerates (pci-stub, pcieport on a bridge);
 *   OWNED            the group's DMA is owned by this context;
 *   OWNED_ELSEWHERE  by another context (binding a device of it gives EPERM).
 * out_num_blocking counts the devices that make the group not viable.
 * ENOENT: no such group, or no such device in this context.
 */
struct ioasidd_group_status {
    __u32 argsz;
    __u32 flags;
#define IOASIDD_GROUP_BY_DEVID (1 << 0)
    __u32 id;
    __u32 out_group;
    __u32 out_flags;
#define IOASIDD_GROUP_VIABLE (1 << 0)
#define IOASIDD_GROUP_OWNED (1 << 1)
#define IOASIDD_GROUP_OWNED_ELSEWHERE (1 << 2)
    __u32 out_num_devices;
    __u32 out_num_blocking;
    __u32 __reserved;
};
#define IOASIDD_GROUP_STATUS _IO(IOASIDD_TYPE, 0x01)

/*
 * IOASIDD_FILE_ID, on /dev/ioasid: the daemon's own question about a file it
 * holds a duplicate of (VFIO_DEVICE_BIND_IOMMUFD names the iommufd by the
 * caller's fd number). Answered only to the daemon; others get EPERM.
 * Returns a positive number naming the open file.
 */
#define IOASIDD_FILE_ID _IO(IOASIDD_TYPE, 0x02)

/*
 * IOASIDD_NODE_KIND, on any ioasidd node, in any state (before BIND too):
 * which of ioasidd's nodes the file is. No argument; returns
 * IOASIDD_NODE_IOMMUFD or IOASIDD_NODE_DEVICE. The kernel's /dev/iommu
 * answers ENOTTY, its VFIO device cdev EINVAL before BIND and ENOTTY after.
 * The preload library tells ioasidd's files from the kernel's with it,
 * whatever path or fd number a file came by.
 */
#define IOASIDD_NODE_KIND _IO(IOASIDD_TYPE, 0x03)
#define IOASIDD_NODE_IOMMUFD 1
#define IOASIDD_NODE_DEVICE 2

/*
 * IOASIDD_REGION_RW, on a device node: pread/pwrite of a VFIO region.
 *
 * CUSE passes no file offset to the daemon, so region access by offset goes
 * through this ioctl. `offset` is a device file offset as GET_REGION_INFO
 * gives it (region offset plus the offset inside the region); `data` points
 * to `length` bytes. Returns the number of bytes moved, short at the end of
 * the region like pread; EINVAL for a region that does not exist or does not
 * allow the access, or a length above INT32_MAX.
 */
struct ioasidd_region_rw {
    __u32 argsz;
    __u32 flags;
#define IOASIDD_REGION_WRITE (1 << 0)
    __aligned_u64 offset;
    __aligned_u64 length;
    __aligned_u64 data;
};
#define IOASIDD_REGION_RW _IO(IOASIDD_TYPE, 0x10)

#endif /* IOASID_UAPI_IOASIDD_H */
