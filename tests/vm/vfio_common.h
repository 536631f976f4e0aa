/* Helpers of the VM lane's VFIO clients: the calls a VMM makes, each
 * returning 0 or -errno, and their printing. */
#ifndef IOASID_TESTS_VFIO_COMMON_H
#define IOASID_TESTS_VFIO_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"

#define U(v) ((unsigned long long)(v))

static inline const char* err_name(int rc) {
    if (rc >= 0) return "ok";
    const char* n = strerrorname_np(-rc);
    return n ? n : "E?";
}

static inline int call(int fd, unsigned long cmd, void* arg) {
    return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline void die(const char* what, unsigned long long detail) {
    fprintf(stderr, "vfio client: %s (0x%llx): %s\n", what, detail, strerror(errno));
    exit(2);
}

/* The IOMMU group number of a device's sysfs(-like) directory: its
 * iommu_group link's last part. */
static inline int group_of(const char* dir) {
    char link[PATH_MAX], target[PATH_MAX];
    snprintf(link, sizeof(link), "%s/iommu_group", dir);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0) die("readlink iommu_group", 0);
    target[n] = 0;
    return atoi(basename(target));
}

/* GET_PCI_HOT_RESET_INFO with room for `room` devices in `info` (which has
 * room for 8), the rest of it poisoned and flags set, which the kernel
 * must clear. */
static inline int hot_reset_info_call(int dev, uint32_t room,
                                      struct vfio_pci_hot_reset_info* info) {
    memset(info, 0xee, sizeof(*info) + 8 * sizeof(struct vfio_pci_dependent_device));
    info->argsz = sizeof(*info) + room * sizeof(struct vfio_pci_dependent_device);
    info->flags = 0x55;
    info->count = 0;
    return call(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
}

static inline int open_node(const char* path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "vfio client: open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return fd;
}

static inline int bind_device(int dev, int iommufd, uint32_t* devid) {
    struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
    int rc = call(dev, VFIO_DEVICE_BIND_IOMMUFD, &b);
    if (devid) *devid = rc ? 0 : b.out_devid;
    return rc;
}

static inline int attach_device(int dev, uint32_t* pt) {
    struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = *pt};
    int rc = call(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
    *pt = at.pt_id;
    return rc;
}

static inline uint32_t ioas_alloc(int iommufd, const char* step) {
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    int rc = call(iommufd, IOMMU_IOAS_ALLOC, &a);
    printf("%s: IOAS_ALLOC -> %s id=%u\n", step, err_name(rc), a.out_ioas_id);
    return a.out_ioas_id;
}

static inline uint32_t hwpt_alloc(int iommufd, uint32_t devid, uint32_t pt, const char* step) {
    struct iommu_hwpt_alloc h = {.size = sizeof(h), .dev_id = devid, .pt_id = pt};
    int rc = call(iommufd, IOMMU_HWPT_ALLOC, &h);
    printf("%s: HWPT_ALLOC -> %s id=%u\n", step, err_name(rc), h.out_hwpt_id);
    return h.out_hwpt_id;
}

static inline int map_fixed(int iommufd, uint32_t ioas, uint64_t va, uint64_t len, uint64_t iova) {
    struct iommu_ioas_map m = {
        .size = sizeof(m),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas,
        .user_va = va,
        .length = len,
        .iova = iova};
    return call(iommufd, IOMMU_IOAS_MAP, &m);
}

static inline void print_ranges(int iommufd, uint32_t ioas, const char* step) {
    struct iommu_iova_range r[8];
    struct iommu_ioas_iova_ranges q = {
        .size = sizeof(q), .ioas_id = ioas, .num_iovas = 8, .allowed_iovas = (uintptr_t)r};
    int rc = call(iommufd, IOMMU_IOAS_IOVA_RANGES, &q);
    printf("%s: IOVA_RANGES -> %s n=%u align=0x%llx", step, err_name(rc), q.num_iovas,
           U(q.out_iova_alignment));
    for (uint32_t i = 0; !rc && i < q.num_iovas && i < 8; i++)
        printf(" [0x%llx,0x%llx]", U(r[i].start), U(r[i].last));
    printf("\n");
}

#endif
