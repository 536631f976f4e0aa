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
 * IOASIDD_FILE_ID, on any ioasidd node: the daemon's own question about a
 * file it holds a duplicate of (VFIO_DEVICE_BIND_IOMMUFD names the iommufd
 * by the caller's fd number; the VMM channel is sent a device file).
 * Answered only to the daemon; others get EPERM.
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
#define IOASIDD_NODE_CONTAINER 3 /* an open of /dev/ioasid made a container */
#define IOASIDD_NODE_GROUP 4     /* an open of /dev/ioasid made a group */

/*
 * The legacy VFIO group API (/dev/vfio/vfio and /dev/vfio/N) for ioasidd's
 * groups, on opens of /dev/ioasid: what Debian 12's QEMU 7.2 drives. The
 * preload library redirects those paths here (CUSE gives a node one name,
 * and the kernel's own /dev/vfio/N names its own groups).
 *
 * IOASIDD_VFIO_CONTAINER, no argument, on an open of /dev/ioasid that has
 * made nothing yet: the file becomes /dev/vfio/vfio, a type1 container with
 * the rules of drivers/vfio/container.c (GET_API_VERSION, CHECK_EXTENSION,
 * SET_IOMMU once a group is set to it; the type1 commands after SET_IOMMU,
 * EINVAL before; the iommufd commands no more). EINVAL: the file has made
 * objects, or is a container or group already.
 *
 * IOASIDD_VFIO_GROUP, argument the group number, on such a file: it becomes
 * /dev/vfio/N for ioasidd's group N, as vfio_group_fops_open() opens it:
 * ENODEV (ioasidd serves no group N), EBUSY (open already, or a device of
 * it is open through its node), EACCES (the caller may not open every
 * device node of the group, which is what owning the group gives). The
 * file then answers VFIO_GROUP_GET_STATUS, _SET_CONTAINER (a container or
 * an iommufd, as the kernel takes either) and _UNSET_CONTAINER as the
 * kernel's group does, and the two commands below for GET_DEVICE_FD, which
 * itself would have to return a new fd.
 *
 * IOASIDD_GROUP_FIND_DEVICE, on a group: the node of the group's device
 * named `name` (VFIO_GROUP_GET_DEVICE_FD's string, a PCI address) in
 * out_devname (under /dev). The caller's next open of that node is let
 * in although the group is open. ENODEV: no such device in the group.
 *
 * IOASIDD_GROUP_OPEN_DEVICE, on a group: the caller's open of that node,
 * named by its `cookie`, becomes the device file GET_DEVICE_FD would have
 * returned: opened through the group (vfio_df_group_open(): EINVAL without
 * a container or before SET_IOMMU), bound to what the group is set to and
 * attached to its IOAS. Such a file answers BIND_IOMMUFD with EINVAL and
 * ATTACH/DETACH with ENOTTY, as the kernel's group-opened device does.
 * EBADF: the cookie names no open of that node.
 *
 * IOASIDD_GROUP_SET_CONTAINER, on a group, argument a pointer to the
 * container's cookie: VFIO_GROUP_SET_CONTAINER, with the container (an open
 * of /dev/ioasid, made a container or not) named by its cookie rather than
 * an fd: EBADFD when it names none. The group answers the plain command,
 * whose fd only the caller can resolve, with ENOTTY; the library makes it
 * this one.
 *
 * IOASIDD_FILE_COOKIE, on any open of an ioasidd node, argument a pointer
 * to a __u64: the file's cookie, a random number that names it to the
 * daemon. Whoever holds the file may ask; naming a file by its cookie
 * needs no question to its node, which may be busy answering the asker.
 * A cookie is never 0 or ~0 (IOASIDD_HOT_RESET_NOT_OURS and _NO_FILE).
 */
struct ioasidd_group_device {
    __u32 argsz;
    __u32 flags;
    __aligned_u64 name;   /* the caller's NUL-terminated device name */
    __aligned_u64 cookie; /* OPEN_DEVICE: the cookie of the caller's open of the node */
    char out_devname[64]; /* FIND_DEVICE: the node, relative to /dev */
};
#define IOASIDD_VFIO_CONTAINER _IO(IOASIDD_TYPE, 0x05)
#define IOASIDD_VFIO_GROUP _IO(IOASIDD_TYPE, 0x06)
#define IOASIDD_GROUP_FIND_DEVICE _IO(IOASIDD_TYPE, 0x07)
#define IOASIDD_GROUP_OPEN_DEVICE _IO(IOASIDD_TYPE, 0x08)
#define IOASIDD_GROUP_SET_CONTAINER _IO(IOASIDD_TYPE, 0x09)
#define IOASIDD_FILE_COOKIE _IO(IOASIDD_TYPE, 0x0a)

/*
 * IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, on a device opened through a group:
 * VFIO_DEVICE_PCI_HOT_RESET with its group fds, each named by the cookie of
 * the file (IOASIDD_FILE_COOKIE) rather than by an fd, which only the caller
 * can resolve. The caller's vfio_pci_hot_reset header is carried as it was;
 * the answers are the kernel's, in its order (vfio_pci_ioctl_pci_hot_reset()):
 * EINVAL for its argsz or flags, or a count of 0 on a group-opened device;
 * ENODEV without a slot or bus reset; EINVAL for more fds than devices
 * affected; then per fd EBADF (IOASIDD_HOT_RESET_NO_FILE: no such fd) or
 * EINVAL (a file that is not one of ioasidd's groups); EFAULT where
 * IOASIDD_HOT_RESET_FDS_UNREADABLE says the fd array could not be read;
 * EINVAL when an affected device is in none of the groups named.
 * On a cdev-opened device, as PCI_HOT_RESET with its count.
 */
struct ioasidd_hot_reset_groups {
    __u32 argsz; /* sizeof(struct ioasidd_hot_reset_groups) + count * 8 */
    __u32 flags;
#define IOASIDD_HOT_RESET_FDS_UNREADABLE (1 << 0)
    __u32 vfio_argsz; /* the caller's struct vfio_pci_hot_reset */
    __u32 vfio_flags;
    __u32 count;
    __u32 __reserved;
    /* then `count` __u64, one per fd: its group file's cookie, or */
#define IOASIDD_HOT_RESET_NOT_OURS 0ull   /* an fd of another file */
#define IOASIDD_HOT_RESET_NO_FILE (~0ull) /* an fd the caller lacks */
};
#define IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS _IO(IOASIDD_TYPE, 0x0b)

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

/*
 * IOASIDD_REGION_READ_FAST(index, size_log2) and
 * IOASIDD_REGION_WRITE_FAST(index, size_log2), on a device node: one access
 * of 1 << size_log2 bytes (1, 2 or 4) of region `index` (0-7, below 4 GiB
 * of it) in one round trip that reads and writes none of the caller's
 * memory, which is what IOASIDD_REGION_RW's struct and data cost through
 * CUSE. The number names the region, the size and the direction; the
 * argument is the offset in the region, with a write's value in its upper
 * 32 bits (little-endian bytes, as the access stores them).
 *
 * A write returns the size. A read returns the value with its top bit
 * flipped (value ^ IOASIDD_REGION_FAST_FLIP, as a 32-bit int): a return
 * value cannot be told from -errno between -4095 and -1, and the flip puts
 * the common all-ones value outside that range. A value that would land
 * there (0x7ffff001 to 0x7fffffff) is EOVERFLOW, and the reading thread
 * then gets its low 12 bits from IOASIDD_REGION_FAST_HELD: the access is
 * never made twice. E2BIG: the access crosses the region's end, and
 * IOASIDD_REGION_RW (short at the end) makes it. Other errors are
 * IOASIDD_REGION_RW's. The access is made as IOASIDD_REGION_RW makes it.
 */
#define IOASIDD_REGION_FAST_NR(write, index, size_log2) \
    (0x40 | ((write) << 5) | ((index) << 2) | (size_log2))
#define IOASIDD_REGION_READ_FAST(index, size_log2) \
    _IO(IOASIDD_TYPE, IOASIDD_REGION_FAST_NR(0, index, size_log2))
#define IOASIDD_REGION_WRITE_FAST(index, size_log2) \
    _IO(IOASIDD_TYPE, IOASIDD_REGION_FAST_NR(1, index, size_log2))
#define IOASIDD_REGION_FAST_FLIP 0x80000000u
#define IOASIDD_REGION_FAST_HELD _IO(IOASIDD_TYPE, 0x04)
/* A held value is this with IOASIDD_REGION_FAST_HELD's 12 bits in it. */
#define IOASIDD_REGION_FAST_HELD_BASE 0x7ffff000u

/*
 * The VMM channel: what CUSE cannot carry through a node (a file for the
 * caller), asked for by the preload library on a Unix socket of the daemon
 * (SOCK_SEQPACKET, IOASIDD_CHANNEL_PATH unless the daemon was given
 * another; the library reads $IOASIDD_VMM_SOCKET).
 *
 * One request per message: a struct ioasidd_channel_request, and with it
 * (SCM_RIGHTS) exactly one fd, the ioasidd device file it is about. The
 * sender must be the process that bound that file (SO_PEERCRED): a
 * process gets a file only for a device it could already drive through
 * the node. One reply per request: a struct ioasidd_channel_reply, and on
 * success at most one fd.
 *
 * IOASIDD_CHANNEL_MMAP   the file and offset that mmap(length, prot, flags)
 *                        of the device file at `offset` maps instead: a
 *                        forwarded device's real VFIO device file, whose
 *                        kernel then checks the map itself. ENODEV for a
 *                        region ioasidd must trap (CUSE's own answer to
 *                        mmap); EINVAL as vfio-pci refuses a map.
 * IOASIDD_CHANNEL_KVM_FILE  the file KVM's kvm-vfio device is to be given
 *                        for the device: the real VFIO group (legacy API)
 *                        or device file of a forwarded device; success
 *                        with no fd for an emulated one, which KVM needs
 *                        nothing of.
 * Errors: EPERM (the sender did not bind the file), EINVAL (not bound yet,
 * as the kernel's device answers before BIND), ENODEV (revoked), EBADF (no
 * fd, or not one of this daemon's device files), EOPNOTSUPP (an op or size
 * the daemon does not know).
 */
#define IOASIDD_CHANNEL_PATH "/run/ioasidd/vmm.sock"

struct ioasidd_channel_request {
    __u32 size; /* sizeof(struct ioasidd_channel_request) */
    __u32 op;
#define IOASIDD_CHANNEL_MMAP 1
#define IOASIDD_CHANNEL_KVM_FILE 2
    __aligned_u64 offset; /* MMAP: the device file offset */
    __aligned_u64 length; /* MMAP: the length to map */
    __u32 prot;           /* MMAP: mmap's prot */
    __u32 flags;          /* MMAP: mmap's flags */
};

struct ioasidd_channel_reply {
    __u32 size;           /* sizeof(struct ioasidd_channel_reply) */
    __s32 result;         /* 0 or -errno */
    __aligned_u64 offset; /* MMAP: where to map the file that came with it */
};

#endif /* IOASID_UAPI_IOASIDD_H */
