/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device ABI of Linux 6.12 that ioasidd's device nodes serve: the
 * device cdev commands (BIND/ATTACH/DETACH) and the device commands of a PCI
 * device (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET, FEATURE).
 *
 * Written from the documented ABI, not copied; every number, size and offset
 * is pinned by tests/unit/test_uapi.cpp. Upstream names, so that a program
 * written against <linux/vfio.h> compiles against this header unchanged; if
 * the system header came first it wins (same bytes).
 */
#ifndef IOASID_UAPI_VFIO_H
#define IOASID_UAPI_VFIO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef _UAPIVFIO_H

/* Two structs end in a flexible array, which ISO C++ lacks (GCC and clang
 * accept it as an extension, as they do in the kernel's own header). */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#ifdef __clang__
#pragma GCC diagnostic ignored "-Wc99-extensions"
#endif
#endif

#define VFIO_API_VERSION 0
#define VFIO_TYPE (';')
#define VFIO_BASE 100

/* Container and group commands, for the numbers only. */
#define VFIO_GET_API_VERSION _IO(VFIO_TYPE, VFIO_BASE + 0)
#define VFIO_CHECK_EXTENSION _IO(VFIO_TYPE, VFIO_BASE + 1)
#define VFIO_SET_IOMMU _IO(VFIO_TYPE, VFIO_BASE + 2)
#define VFIO_GROUP_GET_STATUS _IO(VFIO_TYPE, VFIO_BASE + 3)
#define VFIO_GROUP_SET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 4)
#define VFIO_GROUP_UNSET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 5)
#define VFIO_GROUP_GET_DEVICE_FD _IO(VFIO_TYPE, VFIO_BASE + 6)

/* Device commands. */
#define VFIO_DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)
#define VFIO_DEVICE_GET_REGION_INFO _IO(VFIO_TYPE, VFIO_BASE + 8)
#define VFIO_DEVICE_GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)
#define VFIO_DEVICE_SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
#define VFIO_DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)
#define VFIO_DEVICE_GET_PCI_HOT_RESET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)
#define VFIO_DEVICE_PCI_HOT_RESET _IO(VFIO_TYPE, VFIO_BASE + 13)
#define VFIO_DEVICE_QUERY_GFX_PLANE _IO(VFIO_TYPE, VFIO_BASE + 14)
#define VFIO_DEVICE_GET_GFX_DMABUF _IO(VFIO_TYPE, VFIO_BASE + 15)
#define VFIO_DEVICE_IOEVENTFD _IO(VFIO_TYPE, VFIO_BASE + 16)
#define VFIO_DEVICE_FEATURE _IO(VFIO_TYPE, VFIO_BASE + 17)
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)

/* Type1 container commands (numbers shared with device commands above). */
#define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)
#define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)
#define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)

struct vfio_info_cap_header {
    __u16 id;
    __u16 version;
    __u32 next; /* offset of the next capability from the start of the info */
};

/*
 * The legacy container API, which ioasidd drives to forward host devices and
 * which /dev/ioasid answers like iommufd's VFIO compatibility (the IOAS set
 * with IOMMU_VFIO_IOAS). VFIO_CHECK_EXTENSION and VFIO_SET_IOMMU take these.
 */
#define VFIO_TYPE1_IOMMU 1
#define VFIO_TYPE1v2_IOMMU 3
#define VFIO_DMA_CC_IOMMU 4
#define VFIO_TYPE1_NESTING_IOMMU 6
#define VFIO_NOIOMMU_IOMMU 8
#define VFIO_UNMAP_ALL 9
#define VFIO_UPDATE_VADDR 10

struct vfio_group_status {
    __u32 argsz;
    __u32 flags;
#define VFIO_GROUP_FLAGS_VIABLE (1 << 0)
#define VFIO_GROUP_FLAGS_CONTAINER_SET (1 << 1)
};

struct vfio_iommu_type1_info {
    __u32 argsz;
    __u32 flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)
#define VFIO_IOMMU_INFO_CAPS (1 << 1)
    __aligned_u64 iova_pgsizes;
    __u32 cap_offset;
    __u32 pad;
};

#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
struct vfio_iova_range {
    __u64 start;
    __u64 end; /* inclusive */
};
struct vfio_iommu_type1_info_cap_iova_range {
    struct vfio_info_cap_header header;
    __u32 nr_iovas;
    __u32 reserved;
    struct vfio_iova_range iova_ranges[];
};

#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
struct vfio_iommu_type1_info_dma_avail {
    struct vfio_info_cap_header header;
    __u32 avail;
};

struct vfio_iommu_type1_dma_map {
    __u32 argsz;
    __u32 flags;
#define VFIO_DMA_MAP_FLAG_READ (1 << 0)
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2)
    __u64 vaddr;
    __u64 iova;
    __u64 size;
};

struct vfio_iommu_type1_dma_unmap {
    __u32 argsz;
    __u32 flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL (1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR (1 << 2)
    __u64 iova;
    __u64 size;
    __u8 data[];
};

struct vfio_device_info {
    __u32 argsz;
    __u32 flags;
#define VFIO_DEVICE_FLAGS_RESET (1 << 0)
#define VFIO_DEVICE_FLAGS_PCI (1 << 1)
#define VFIO_DEVICE_FLAGS_PLATFORM (1 << 2)
#define VFIO_DEVICE_FLAGS_AMBA (1 << 3)
#define VFIO_DEVICE_FLAGS_CCW (1 << 4)
#define VFIO_DEVICE_FLAGS_AP (1 << 5)
#define VFIO_DEVICE_FLAGS_FSL_MC (1 << 6)
#define VFIO_DEVICE_FLAGS_CAPS (1 << 7)
#define VFIO_DEVICE_FLAGS_CDX (1 << 8)
    __u32 num_regions;
    __u32 num_irqs;
    __u32 cap_offset;
    __u32 pad;
};

struct vfio_region_info {
    __u32 argsz;
    __u32 flags;
#define VFIO_REGION_INFO_FLAG_READ (1 << 0)
#define VFIO_REGION_INFO_FLAG_WRITE (1 << 1)
#define VFIO_REGION_INFO_FLAG_MMAP (1 << 2)
#define VFIO_REGION_INFO_FLAG_CAPS (1 << 3)
    __u32 index;
    __u32 cap_offset;
    __aligned_u64 size;
    __aligned_u64 offset;
};

#define VFIO_REGION_INFO_CAP_SPARSE_MMAP 1
#define VFIO_REGION_INFO_CAP_TYPE 2

struct vfio_region_info_cap_type {
    struct vfio_info_cap_header header;
    __u32 type;
    __u32 subtype;
};

struct vfio_irq_info {
    __u32 argsz;
    __u32 flags;
#define VFIO_IRQ_INFO_EVENTFD (1 << 0)
#define VFIO_IRQ_INFO_MASKABLE (1 << 1)
#define VFIO_IRQ_INFO_AUTOMASKED (1 << 2)
#define VFIO_IRQ_INFO_NORESIZE (1 << 3)
    __u32 index;
    __u32 count;
};

struct vfio_irq_set {
    __u32 argsz;
    __u32 flags;
#define VFIO_IRQ_SET_DATA_NONE (1 << 0)
#define VFIO_IRQ_SET_DATA_BOOL (1 << 1)
#define VFIO_IRQ_SET_DATA_EVENTFD (1 << 2)
#define VFIO_IRQ_SET_ACTION_MASK (1 << 3)
#define VFIO_IRQ_SET_ACTION_UNMASK (1 << 4)
#define VFIO_IRQ_SET_ACTION_TRIGGER (1 << 5)
    __u32 index;
    __u32 start;
    __u32 count;
    __u8 data[];
};
#define VFIO_IRQ_SET_DATA_TYPE_MASK \
    (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD)
#define VFIO_IRQ_SET_ACTION_TYPE_MASK \
    (VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER)

/* The fixed region and IRQ indexes of a vfio-pci device. */
enum {
    VFIO_PCI_BAR0_REGION_INDEX,
    VFIO_PCI_BAR1_REGION_INDEX,
    VFIO_PCI_BAR2_REGION_INDEX,
    VFIO_PCI_BAR3_REGION_INDEX,
    VFIO_PCI_BAR4_REGION_INDEX,
    VFIO_PCI_BAR5_REGION_INDEX,
    VFIO_PCI_ROM_REGION_INDEX,
    VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_VGA_REGION_INDEX,
    VFIO_PCI_NUM_REGIONS = 9
};

enum {
    VFIO_PCI_INTX_IRQ_INDEX,
    VFIO_PCI_MSI_IRQ_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX,
    VFIO_PCI_ERR_IRQ_INDEX,
    VFIO_PCI_REQ_IRQ_INDEX,
    VFIO_PCI_NUM_IRQS
};

/* GET_PCI_HOT_RESET_INFO: the devices a bus or slot reset also resets. */
struct vfio_pci_dependent_device {
    union {
        __u32 group_id; /* a group-opened device's answer */
        __u32 devid;    /* a cdev-opened device's answer */
#define VFIO_PCI_DEVID_OWNED 0
#define VFIO_PCI_DEVID_NOT_OWNED -1
    };
    __u16 segment;
    __u8 bus;
    __u8 devfn;
};

struct vfio_pci_hot_reset_info {
    __u32 argsz;
    __u32 flags;
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0)
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
    __u32 count;
    struct vfio_pci_dependent_device devices[];
};

/* PCI_HOT_RESET: a cdev-opened device passes count 0 (no group fds). */
struct vfio_pci_hot_reset {
    __u32 argsz;
    __u32 flags;
    __u32 count;
    __s32 group_fds[];
};

struct vfio_device_ioeventfd {
    __u32 argsz;
    __u32 flags;
#define VFIO_DEVICE_IOEVENTFD_8 (1 << 0)
#define VFIO_DEVICE_IOEVENTFD_16 (1 << 1)
#define VFIO_DEVICE_IOEVENTFD_32 (1 << 2)
#define VFIO_DEVICE_IOEVENTFD_64 (1 << 3)
#define VFIO_DEVICE_IOEVENTFD_SIZE_MASK (0xf)
    __aligned_u64 offset; /* the device file offset written */
    __aligned_u64 data;
    __s32 fd; /* -1 removes the one at offset, data, size */
    __u32 reserved;
};

struct vfio_device_feature {
    __u32 argsz;
    __u32 flags;
#define VFIO_DEVICE_FEATURE_MASK (0xffff)
#define VFIO_DEVICE_FEATURE_GET (1 << 16)
#define VFIO_DEVICE_FEATURE_SET (1 << 17)
#define VFIO_DEVICE_FEATURE_PROBE (1 << 18)
    __u8 data[];
};
#define VFIO_DEVICE_FEATURE_PCI_VF_TOKEN 0 /* data: the 16-byte uuid */
#define VFIO_DEVICE_FEATURE_MIGRATION 1
struct vfio_device_feature_migration {
    __aligned_u64 flags;
};
#define VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE 2
struct vfio_device_feature_mig_state {
    __u32 device_state;
    __s32 data_fd;
};
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY 3
#define VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP 4
#define VFIO_DEVICE_FEATURE_LOW_POWER_EXIT 5
/* The data of LOW_POWER_ENTRY_WITH_WAKEUP. */
struct vfio_device_low_power_entry_with_wakeup {
    __s32 wakeup_eventfd;
    __u32 reserved;
};
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_START 6
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP 7
#define VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT 8
/* The data of DMA_LOGGING_START and _REPORT: both name memory of the
 * caller's by address (the ranges, the bitmap). */
struct vfio_device_feature_dma_logging_control {
    __aligned_u64 page_size;
    __u32 num_ranges;
#define VFIO_DEVICE_DMA_LOGGING_MAX_RANGES 256 /* the kernel's LOG_MAX_RANGES */
    __u32 __reserved;
    __aligned_u64 ranges;
};
struct vfio_device_feature_dma_logging_range {
    __aligned_u64 iova;
    __aligned_u64 length;
};
struct vfio_device_feature_dma_logging_report {
    __aligned_u64 iova;
    __aligned_u64 length;
    __aligned_u64 page_size;
    __aligned_u64 bitmap;
};
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
struct vfio_device_feature_mig_data_size {
    __aligned_u64 stop_copy_length;
};
#define VFIO_DEVICE_FEATURE_BUS_MASTER 10

struct vfio_device_bind_iommufd {
    __u32 argsz;
    __u32 flags;
    __s32 iommufd;
    __u32 out_devid;
};

struct vfio_device_attach_iommufd_pt {
    __u32 argsz;
    __u32 flags;
    __u32 pt_id;
};

struct vfio_device_detach_iommufd_pt {
    __u32 argsz;
    __u32 flags;
};

#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif /* _UAPIVFIO_H */

/* Where vfio-pci places region `index` in the device file's offset space. */
#define IOASID_VFIO_PCI_OFFSET_SHIFT 40
#define IOASID_VFIO_PCI_INDEX_TO_OFFSET(index) ((__u64)(index) << IOASID_VFIO_PCI_OFFSET_SHIFT)
#define IOASID_VFIO_PCI_OFFSET_TO_INDEX(off) ((off) >> IOASID_VFIO_PCI_OFFSET_SHIFT)
#define IOASID_VFIO_PCI_OFFSET_MASK ((1ULL << IOASID_VFIO_PCI_OFFSET_SHIFT) - 1)

#endif /* IOASID_UAPI_VFIO_H */
