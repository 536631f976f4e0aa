/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD: the test-only command of a kernel built with
 * CONFIG_IOMMUFD_TEST (drivers/iommu/iommufd/iommufd_test.h in Linux 6.12),
 * which the kernel's own selftest drives. ioasidd answers it only when
 * started with --test-ops; else it is ENOTTY, as on a kernel without it.
 *
 * The struct is size-first like every iommufd command. `op` picks the
 * operation, `id` its object, and the union its arguments.
 */
#ifndef IOASID_UAPI_IOMMUFD_TEST_H
#define IOASID_UAPI_IOMMUFD_TEST_H

#include <linux/types.h>

#include "ioasid/iommufd.h"

/* The kernel's struct has a union of unnamed structs: C11, an extension in C++. */
#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#ifdef __clang__
#pragma GCC diagnostic ignored "-Wnested-anon-types"
#endif
#endif

enum {
    IOMMU_TEST_OP_ADD_RESERVED = 1,
    IOMMU_TEST_OP_MOCK_DOMAIN,
    IOMMU_TEST_OP_MD_CHECK_MAP,
    IOMMU_TEST_OP_MD_CHECK_REFS,
    IOMMU_TEST_OP_CREATE_ACCESS,
    IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
    IOMMU_TEST_OP_ACCESS_PAGES,
    IOMMU_TEST_OP_ACCESS_RW,
    IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
    IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
    IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
    IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
    IOMMU_TEST_OP_DIRTY,
    IOMMU_TEST_OP_MD_CHECK_IOTLB,
    IOMMU_TEST_OP_TRIGGER_IOPF,
};

/* The mock IOMMU domain's aperture. */
enum {
    MOCK_APERTURE_START = 1UL << 24,
    MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

struct iommu_test_cmd {
    __u32 size;
    __u32 op;
    __u32 id;
    __u32 __reserved;
    union {
        struct {
            __aligned_u64 start;
            __aligned_u64 length;
        } add_reserved;
        struct {
            __u32 out_stdev_id;
            __u32 out_hwpt_id;
            __u32 out_idev_id;
        } mock_domain;
        struct {
            __u32 out_stdev_id;
            __u32 out_hwpt_id;
            __u32 out_idev_id;
            __u32 dev_flags;
        } mock_domain_flags;
        struct {
            __u32 pt_id;
        } mock_domain_replace;
        struct {
            __aligned_u64 iova;
            __aligned_u64 length;
            __aligned_u64 uptr;
        } check_map;
        struct {
            __aligned_u64 length;
            __aligned_u64 uptr;
            __u32 refs;
        } check_refs;
        struct {
            __u32 out_access_fd;
            __u32 flags;
        } create_access;
        struct {
            __u32 access_pages_id;
        } destroy_access_pages;
        struct {
            __u32 flags;
            __u32 out_access_pages_id;
            __aligned_u64 iova;
            __aligned_u64 length;
            __aligned_u64 uptr;
        } access_pages;
        struct {
            __aligned_u64 iova;
            __aligned_u64 length;
            __aligned_u64 uptr;
            __u32 flags;
        } access_rw;
        struct {
            __u32 limit;
        } memory_limit;
        struct {
            __u32 ioas_id;
        } access_replace_ioas;
        struct {
            __u32 flags;
            __aligned_u64 iova;
            __aligned_u64 length;
            __aligned_u64 page_size;
            __aligned_u64 uptr;
            __aligned_u64 out_nr_dirty;
        } dirty;
        struct {
            __u32 id;
            __u32 iotlb;
        } check_iotlb;
        struct {
            __u32 dev_id;
            __u32 pasid;
            __u32 grpid;
            __u32 perm;
            __u64 addr;
        } trigger_iopf;
    };
    __u32 last;
};
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* MOCK_DOMAIN_FLAGS: the mock device's flags. */
enum {
    MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
    MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
};

/* IOMMU_GET_HW_INFO of a mock device. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef
struct iommu_test_hw_info {
    __u32 flags;
    __u32 test_reg;
};

#if defined(__cplusplus) && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif /* IOASID_UAPI_IOMMUFD_TEST_H */
