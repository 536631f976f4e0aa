// Pins the iommufd ABI: every ioctl number, struct size and field offset.
#include <catch2/catch.hpp>
#include <cstddef>

#include "ioasid/iommufd.h"

TEST_CASE("iommufd ioctl numbers are the kernel's", "[uapi]") {
    CHECK(IOMMUFD_TYPE == 0x3b);
    CHECK(IOMMU_DESTROY == 0x3b80);
    CHECK(IOMMU_IOAS_ALLOC == 0x3b81);
    CHECK(IOMMU_IOAS_ALLOW_IOVAS == 0x3b82);
    CHECK(IOMMU_IOAS_COPY == 0x3b83);
    CHECK(IOMMU_IOAS_IOVA_RANGES == 0x3b84);
    CHECK(IOMMU_IOAS_MAP == 0x3b85);
    CHECK(IOMMU_IOAS_UNMAP == 0x3b86);
    CHECK(IOMMU_OPTION == 0x3b87);
    CHECK(IOMMU_VFIO_IOAS == 0x3b88);
    CHECK(IOMMU_HWPT_ALLOC == 0x3b89);
    CHECK(IOMMU_GET_HW_INFO == 0x3b8a);
    CHECK(IOMMU_HWPT_SET_DIRTY_TRACKING == 0x3b8b);
    CHECK(IOMMU_HWPT_GET_DIRTY_BITMAP == 0x3b8c);
    CHECK(IOMMU_HWPT_INVALIDATE == 0x3b8d);
    CHECK(IOMMU_FAULT_QUEUE_ALLOC == 0x3b8e);
}

TEST_CASE("iommufd enum values are the kernel's", "[uapi]") {
    CHECK(IOMMU_IOAS_MAP_FIXED_IOVA == 1);
    CHECK(IOMMU_IOAS_MAP_WRITEABLE == 2);
    CHECK(IOMMU_IOAS_MAP_READABLE == 4);
    CHECK(IOMMU_OPTION_RLIMIT_MODE == 0);
    CHECK(IOMMU_OPTION_HUGE_PAGES == 1);
    CHECK(IOMMU_OPTION_OP_SET == 0);
    CHECK(IOMMU_OPTION_OP_GET == 1);
    CHECK(IOMMU_VFIO_IOAS_GET == 0);
    CHECK(IOMMU_VFIO_IOAS_SET == 1);
    CHECK(IOMMU_VFIO_IOAS_CLEAR == 2);
}

#define PIN(type, field, off) CHECK(offsetof(type, field) == (off))

TEST_CASE("iommufd struct layouts are the kernel's", "[uapi]") {
    CHECK(sizeof(iommu_destroy) == 8);
    PIN(iommu_destroy, id, 4);

    CHECK(sizeof(iommu_ioas_alloc) == 12);
    PIN(iommu_ioas_alloc, flags, 4);
    PIN(iommu_ioas_alloc, out_ioas_id, 8);

    CHECK(sizeof(iommu_iova_range) == 16);
    PIN(iommu_iova_range, last, 8);

    CHECK(sizeof(iommu_ioas_iova_ranges) == 32);
    PIN(iommu_ioas_iova_ranges, ioas_id, 4);
    PIN(iommu_ioas_iova_ranges, num_iovas, 8);
    PIN(iommu_ioas_iova_ranges, __reserved, 12);
    PIN(iommu_ioas_iova_ranges, allowed_iovas, 16);
    PIN(iommu_ioas_iova_ranges, out_iova_alignment, 24);

    CHECK(sizeof(iommu_ioas_allow_iovas) == 24);
    PIN(iommu_ioas_allow_iovas, ioas_id, 4);
    PIN(iommu_ioas_allow_iovas, num_iovas, 8);
    PIN(iommu_ioas_allow_iovas, __reserved, 12);
    PIN(iommu_ioas_allow_iovas, allowed_iovas, 16);

    CHECK(sizeof(iommu_ioas_map) == 40);
    PIN(iommu_ioas_map, flags, 4);
    PIN(iommu_ioas_map, ioas_id, 8);
    PIN(iommu_ioas_map, __reserved, 12);
    PIN(iommu_ioas_map, user_va, 16);
    PIN(iommu_ioas_map, length, 24);
    PIN(iommu_ioas_map, iova, 32);

    CHECK(sizeof(iommu_ioas_copy) == 40);
    PIN(iommu_ioas_copy, flags, 4);
    PIN(iommu_ioas_copy, dst_ioas_id, 8);
    PIN(iommu_ioas_copy, src_ioas_id, 12);
    PIN(iommu_ioas_copy, length, 16);
    PIN(iommu_ioas_copy, dst_iova, 24);
    PIN(iommu_ioas_copy, src_iova, 32);

    CHECK(sizeof(iommu_ioas_unmap) == 24);
    PIN(iommu_ioas_unmap, ioas_id, 4);
    PIN(iommu_ioas_unmap, iova, 8);
    PIN(iommu_ioas_unmap, length, 16);

    CHECK(sizeof(iommu_option) == 24);
    PIN(iommu_option, option_id, 4);
    PIN(iommu_option, op, 8);
    PIN(iommu_option, __reserved, 10);
    PIN(iommu_option, object_id, 12);
    PIN(iommu_option, val64, 16);

    CHECK(sizeof(iommu_vfio_ioas) == 12);
    PIN(iommu_vfio_ioas, ioas_id, 4);
    PIN(iommu_vfio_ioas, op, 8);
    PIN(iommu_vfio_ioas, __reserved, 10);
}
