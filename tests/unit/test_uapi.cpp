// Pins the iommufd ABI: every ioctl number, struct size and field offset.
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>

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

    CHECK(sizeof(iommu_hwpt_alloc) == 48);
    PIN(iommu_hwpt_alloc, flags, 4);
    PIN(iommu_hwpt_alloc, dev_id, 8);
    PIN(iommu_hwpt_alloc, pt_id, 12);
    PIN(iommu_hwpt_alloc, out_hwpt_id, 16);
    PIN(iommu_hwpt_alloc, __reserved, 20);
    PIN(iommu_hwpt_alloc, data_type, 24);
    PIN(iommu_hwpt_alloc, data_len, 28);
    PIN(iommu_hwpt_alloc, data_uptr, 32);
    PIN(iommu_hwpt_alloc, fault_id, 40);
    PIN(iommu_hwpt_alloc, __reserved2, 44);

    CHECK(sizeof(iommu_hw_info) == 40);
    PIN(iommu_hw_info, flags, 4);
    PIN(iommu_hw_info, dev_id, 8);
    PIN(iommu_hw_info, data_len, 12);
    PIN(iommu_hw_info, data_uptr, 16);
    PIN(iommu_hw_info, out_data_type, 24);
    PIN(iommu_hw_info, out_max_pasid_log2, 28);
    PIN(iommu_hw_info, __reserved, 29);
    PIN(iommu_hw_info, out_capabilities, 32);
}

TEST_CASE("HWPT_INVALIDATE's struct is the kernel's", "[uapi]") {
    CHECK(sizeof(iommu_hwpt_invalidate) == 32);
    PIN(iommu_hwpt_invalidate, hwpt_id, 4);
    PIN(iommu_hwpt_invalidate, data_uptr, 8);
    PIN(iommu_hwpt_invalidate, data_type, 16);
    PIN(iommu_hwpt_invalidate, entry_len, 20);
    PIN(iommu_hwpt_invalidate, entry_num, 24);
    PIN(iommu_hwpt_invalidate, __reserved, 28);
}

#include "ioasid/iommufd_test.h"

// Against drivers/iommu/iommufd/iommufd_test.h of 6.12 (the selftest's ABI).
TEST_CASE("IOMMU_TEST_CMD: number, ops and struct are the kernel's", "[uapi]") {
    CHECK(IOMMU_TEST_CMD == 0x3ba0);
    CHECK(IOMMU_TEST_OP_ADD_RESERVED == 1);
    CHECK(IOMMU_TEST_OP_MD_CHECK_REFS == 4);
    CHECK(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT == 9);
    CHECK(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS == 12);
    CHECK(IOMMU_TEST_OP_TRIGGER_IOPF == 15);
    CHECK(MOCK_APERTURE_START == 1ul << 24);
    CHECK(MOCK_APERTURE_LAST == (1ul << 31) - 1);
    CHECK(sizeof(iommu_test_cmd) == 72);
    PIN(iommu_test_cmd, op, 4);
    PIN(iommu_test_cmd, id, 8);
    PIN(iommu_test_cmd, __reserved, 12);
    PIN(iommu_test_cmd, add_reserved.start, 16);
    PIN(iommu_test_cmd, add_reserved.length, 24);
    PIN(iommu_test_cmd, mock_domain.out_hwpt_id, 20);
    PIN(iommu_test_cmd, mock_domain.out_idev_id, 24);
    PIN(iommu_test_cmd, mock_domain_flags.dev_flags, 28);
    PIN(iommu_test_cmd, check_map.uptr, 32);
    PIN(iommu_test_cmd, check_refs.refs, 32);
    PIN(iommu_test_cmd, create_access.flags, 20);
    PIN(iommu_test_cmd, access_pages.out_access_pages_id, 20);
    PIN(iommu_test_cmd, access_pages.iova, 24);
    PIN(iommu_test_cmd, access_pages.uptr, 40);
    PIN(iommu_test_cmd, access_rw.flags, 40);
    PIN(iommu_test_cmd, memory_limit.limit, 16);
    PIN(iommu_test_cmd, dirty.iova, 24);
    PIN(iommu_test_cmd, dirty.out_nr_dirty, 56);
    PIN(iommu_test_cmd, check_iotlb.iotlb, 20);
    PIN(iommu_test_cmd, trigger_iopf.addr, 32);
    PIN(iommu_test_cmd, last, 64);
}

TEST_CASE("HWPT and hw-info enum values are the kernel's", "[uapi]") {
    CHECK(IOMMU_HWPT_ALLOC_NEST_PARENT == 1);
    CHECK(IOMMU_HWPT_ALLOC_DIRTY_TRACKING == 2);
    CHECK(IOMMU_HWPT_FAULT_ID_VALID == 4);
    CHECK(IOMMU_HWPT_DATA_NONE == 0);
    CHECK(IOMMU_HWPT_DATA_VTD_S1 == 1);
    CHECK(IOMMU_HW_INFO_TYPE_NONE == 0);
    CHECK(IOMMU_HW_INFO_TYPE_INTEL_VTD == 1);
    CHECK(IOMMU_HW_CAP_DIRTY_TRACKING == 1);
}

// ---- VFIO device ABI (include/uapi/linux/vfio.h of 6.12) ----
#include "ioasid/ioasidd.h"
#include "ioasid/kvm_vfio.h"
#include "ioasid/vfio.h"

TEST_CASE("VFIO ioctl numbers are the kernel's", "[uapi]") {
    CHECK(VFIO_TYPE == 0x3b);
    CHECK(VFIO_GET_API_VERSION == 0x3b64);
    CHECK(VFIO_CHECK_EXTENSION == 0x3b65);
    CHECK(VFIO_SET_IOMMU == 0x3b66);
    CHECK(VFIO_GROUP_GET_STATUS == 0x3b67);
    CHECK(VFIO_GROUP_SET_CONTAINER == 0x3b68);
    CHECK(VFIO_GROUP_UNSET_CONTAINER == 0x3b69);
    CHECK(VFIO_GROUP_GET_DEVICE_FD == 0x3b6a);
    CHECK(VFIO_DEVICE_GET_INFO == 0x3b6b);
    CHECK(VFIO_DEVICE_GET_REGION_INFO == 0x3b6c);
    CHECK(VFIO_DEVICE_GET_IRQ_INFO == 0x3b6d);
    CHECK(VFIO_DEVICE_SET_IRQS == 0x3b6e);
    CHECK(VFIO_DEVICE_RESET == 0x3b6f);
    CHECK(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO == 0x3b70);
    CHECK(VFIO_DEVICE_PCI_HOT_RESET == 0x3b71);
    CHECK(VFIO_DEVICE_IOEVENTFD == 0x3b74);
    CHECK(VFIO_DEVICE_FEATURE == 0x3b75);
    CHECK(VFIO_DEVICE_BIND_IOMMUFD == 0x3b76);
    CHECK(VFIO_DEVICE_ATTACH_IOMMUFD_PT == 0x3b77);
    CHECK(VFIO_DEVICE_DETACH_IOMMUFD_PT == 0x3b78);
    CHECK(VFIO_IOMMU_GET_INFO == 0x3b70);
    CHECK(VFIO_IOMMU_MAP_DMA == 0x3b71);
    CHECK(VFIO_IOMMU_UNMAP_DMA == 0x3b72);
}

TEST_CASE("VFIO flags and indexes are the kernel's", "[uapi]") {
    CHECK(VFIO_DEVICE_FLAGS_RESET == 1);
    CHECK(VFIO_DEVICE_FLAGS_PCI == 2);
    CHECK(VFIO_DEVICE_FLAGS_CAPS == 0x80);
    CHECK(VFIO_REGION_INFO_FLAG_READ == 1);
    CHECK(VFIO_REGION_INFO_FLAG_WRITE == 2);
    CHECK(VFIO_REGION_INFO_FLAG_MMAP == 4);
    CHECK(VFIO_REGION_INFO_FLAG_CAPS == 8);
    CHECK(VFIO_REGION_INFO_CAP_TYPE == 2);
    CHECK(VFIO_IRQ_INFO_EVENTFD == 1);
    CHECK(VFIO_IRQ_INFO_MASKABLE == 2);
    CHECK(VFIO_IRQ_INFO_AUTOMASKED == 4);
    CHECK(VFIO_IRQ_INFO_NORESIZE == 8);
    CHECK(VFIO_IRQ_SET_DATA_NONE == 1);
    CHECK(VFIO_IRQ_SET_DATA_BOOL == 2);
    CHECK(VFIO_IRQ_SET_DATA_EVENTFD == 4);
    CHECK(VFIO_IRQ_SET_ACTION_MASK == 8);
    CHECK(VFIO_IRQ_SET_ACTION_UNMASK == 0x10);
    CHECK(VFIO_IRQ_SET_ACTION_TRIGGER == 0x20);
    CHECK(VFIO_PCI_CONFIG_REGION_INDEX == 7);
    CHECK(VFIO_PCI_VGA_REGION_INDEX == 8);
    CHECK(VFIO_PCI_NUM_REGIONS == 9);
    CHECK(VFIO_PCI_MSIX_IRQ_INDEX == 2);
    CHECK(VFIO_PCI_REQ_IRQ_INDEX == 4);
    CHECK(VFIO_PCI_NUM_IRQS == 5);
    CHECK(VFIO_DEVICE_FEATURE_MASK == 0xffff);
    CHECK(VFIO_DEVICE_FEATURE_GET == 0x10000);
    CHECK(VFIO_DEVICE_FEATURE_SET == 0x20000);
    CHECK(VFIO_DEVICE_FEATURE_PROBE == 0x40000);
    CHECK(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT == 5);
    CHECK(IOASID_VFIO_PCI_INDEX_TO_OFFSET(7) == 0x70000000000ull);
}

TEST_CASE("VFIO struct layouts are the kernel's", "[uapi]") {
    CHECK(sizeof(vfio_info_cap_header) == 8);
    PIN(vfio_info_cap_header, next, 4);
    CHECK(sizeof(vfio_device_info) == 24);
    PIN(vfio_device_info, num_regions, 8);
    PIN(vfio_device_info, num_irqs, 12);
    PIN(vfio_device_info, cap_offset, 16);
    CHECK(sizeof(vfio_region_info) == 32);
    PIN(vfio_region_info, index, 8);
    PIN(vfio_region_info, cap_offset, 12);
    PIN(vfio_region_info, size, 16);
    PIN(vfio_region_info, offset, 24);
    CHECK(sizeof(vfio_region_info_cap_type) == 16);
    CHECK(sizeof(vfio_irq_info) == 16);
    PIN(vfio_irq_info, count, 12);
    CHECK(sizeof(vfio_irq_set) == 20);
    PIN(vfio_irq_set, data, 20);
    CHECK(sizeof(vfio_device_feature) == 8);
    CHECK(sizeof(vfio_device_bind_iommufd) == 16);
    PIN(vfio_device_bind_iommufd, iommufd, 8);
    PIN(vfio_device_bind_iommufd, out_devid, 12);
    CHECK(sizeof(vfio_device_attach_iommufd_pt) == 12);
    PIN(vfio_device_attach_iommufd_pt, pt_id, 8);
    CHECK(sizeof(vfio_device_detach_iommufd_pt) == 8);
}

TEST_CASE("DMA logging's structs are the kernel's", "[uapi]") {
    CHECK(sizeof(vfio_device_feature_dma_logging_control) == 24);
    PIN(vfio_device_feature_dma_logging_control, num_ranges, 8);
    PIN(vfio_device_feature_dma_logging_control, ranges, 16);
    CHECK(sizeof(vfio_device_feature_dma_logging_range) == 16);
    CHECK(sizeof(vfio_device_feature_dma_logging_report) == 32);
    PIN(vfio_device_feature_dma_logging_report, page_size, 16);
    PIN(vfio_device_feature_dma_logging_report, bitmap, 24);
    CHECK(VFIO_DEVICE_FEATURE_DMA_LOGGING_START == 6);
    CHECK(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT == 8);
    CHECK(VFIO_DEVICE_FEATURE_BUS_MASTER == 10);
}

TEST_CASE("the other features' numbers and data are the kernel's", "[uapi]") {
    CHECK(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN == 0);
    CHECK(VFIO_DEVICE_FEATURE_MIGRATION == 1);
    CHECK(sizeof(vfio_device_feature_migration) == 8);
    CHECK(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE == 2);
    CHECK(sizeof(vfio_device_feature_mig_state) == 8);
    PIN(vfio_device_feature_mig_state, data_fd, 4);
    CHECK(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP == 4);
    CHECK(sizeof(vfio_device_low_power_entry_with_wakeup) == 8);
    CHECK(VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP == 7);
    CHECK(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE == 9);
    CHECK(sizeof(vfio_device_feature_mig_data_size) == 8);
}

TEST_CASE("hot reset and ioeventfd structs and flags are the kernel's", "[uapi]") {
    CHECK(sizeof(vfio_pci_dependent_device) == 8);
    PIN(vfio_pci_dependent_device, devid, 0);
    PIN(vfio_pci_dependent_device, group_id, 0);
    PIN(vfio_pci_dependent_device, segment, 4);
    PIN(vfio_pci_dependent_device, bus, 6);
    PIN(vfio_pci_dependent_device, devfn, 7);
    CHECK(sizeof(vfio_pci_hot_reset_info) == 12);
    PIN(vfio_pci_hot_reset_info, count, 8);
    PIN(vfio_pci_hot_reset_info, devices, 12);
    CHECK(VFIO_PCI_HOT_RESET_FLAG_DEV_ID == 1);
    CHECK(VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED == 2);
    CHECK(VFIO_PCI_DEVID_OWNED == 0);
    CHECK(uint32_t(VFIO_PCI_DEVID_NOT_OWNED) == 0xffffffffu);
    CHECK(sizeof(vfio_pci_hot_reset) == 12);
    PIN(vfio_pci_hot_reset, group_fds, 12);
    CHECK(sizeof(vfio_device_ioeventfd) == 32);
    PIN(vfio_device_ioeventfd, offset, 8);
    PIN(vfio_device_ioeventfd, data, 16);
    PIN(vfio_device_ioeventfd, fd, 24);
    CHECK(VFIO_DEVICE_IOEVENTFD_8 == 1);
    CHECK(VFIO_DEVICE_IOEVENTFD_64 == 8);
    CHECK(VFIO_DEVICE_IOEVENTFD_SIZE_MASK == 0xf);
}

TEST_CASE("kvm-vfio's file attribute keeps KVM's numbers and layout", "[uapi]") {
    CHECK(KVM_SET_DEVICE_ATTR == 0x4018aee1);
    CHECK(sizeof(kvm_device_attr) == 24);
    PIN(kvm_device_attr, group, 4);
    PIN(kvm_device_attr, attr, 8);
    PIN(kvm_device_attr, addr, 16);
    CHECK(KVM_DEV_VFIO_FILE == 1);
    CHECK(KVM_DEV_VFIO_FILE_ADD == 1);
    CHECK(KVM_DEV_VFIO_FILE_DEL == 2);
}

TEST_CASE("ioasidd's own ioctls keep their numbers and layouts", "[uapi]") {
    CHECK(IOASIDD_GROUP_STATUS == 0xa501);
    CHECK(IOASIDD_FILE_ID == 0xa502);
    CHECK(IOASIDD_NODE_KIND == 0xa503);
    CHECK(IOASIDD_NODE_IOMMUFD == 1);
    CHECK(IOASIDD_NODE_DEVICE == 2);
    CHECK(IOASIDD_REGION_RW == 0xa510);
    CHECK(IOASIDD_REGION_READ_FAST(0, 0) == 0xa540);
    CHECK(IOASIDD_REGION_READ_FAST(7, 2) == 0xa55e);
    CHECK(IOASIDD_REGION_WRITE_FAST(0, 2) == 0xa562);
    CHECK(IOASIDD_REGION_WRITE_FAST(7, 2) == 0xa57e);
    CHECK(IOASIDD_REGION_FAST_FLIP == 0x80000000u);
    CHECK(IOASIDD_REGION_FAST_HELD == 0xa504);
    CHECK(IOASIDD_REGION_FAST_HELD_BASE == 0x7ffff000u);
    CHECK(sizeof(ioasidd_group_status) == 32);
    PIN(ioasidd_group_status, out_flags, 16);
    PIN(ioasidd_group_status, out_num_blocking, 24);
    CHECK(sizeof(ioasidd_region_rw) == 32);
    PIN(ioasidd_region_rw, offset, 8);
    PIN(ioasidd_region_rw, length, 16);
    PIN(ioasidd_region_rw, data, 24);
}

TEST_CASE("ioasidd's group API commands keep their numbers and layouts", "[uapi]") {
    CHECK(IOASIDD_NODE_CONTAINER == 3);
    CHECK(IOASIDD_NODE_GROUP == 4);
    CHECK(IOASIDD_VFIO_CONTAINER == 0xa505);
    CHECK(IOASIDD_VFIO_GROUP == 0xa506);
    CHECK(IOASIDD_GROUP_FIND_DEVICE == 0xa507);
    CHECK(IOASIDD_GROUP_OPEN_DEVICE == 0xa508);
    CHECK(IOASIDD_GROUP_SET_CONTAINER == 0xa509);
    CHECK(IOASIDD_FILE_COOKIE == 0xa50a);
    CHECK(sizeof(ioasidd_group_device) == 88);
    PIN(ioasidd_group_device, name, 8);
    PIN(ioasidd_group_device, cookie, 16);
    PIN(ioasidd_group_device, out_devname, 24);
    CHECK(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS == 0xa50b);
    CHECK(sizeof(ioasidd_hot_reset_groups) == 24);
    PIN(ioasidd_hot_reset_groups, flags, 4);
    PIN(ioasidd_hot_reset_groups, vfio_argsz, 8);
    PIN(ioasidd_hot_reset_groups, vfio_flags, 12);
    PIN(ioasidd_hot_reset_groups, count, 16);
    CHECK(IOASIDD_HOT_RESET_FDS_UNREADABLE == 1);
    CHECK(IOASIDD_HOT_RESET_NOT_OURS == 0);
    CHECK(IOASIDD_HOT_RESET_NO_FILE == ~0ull);
    // The kernel's group and container numbers these stand beside.
    CHECK(VFIO_GROUP_GET_STATUS == 0x3b67);
    CHECK(VFIO_GROUP_SET_CONTAINER == 0x3b68);
    CHECK(VFIO_GROUP_UNSET_CONTAINER == 0x3b69);
    CHECK(VFIO_GROUP_GET_DEVICE_FD == 0x3b6a);
    CHECK(sizeof(vfio_group_status) == 8);
    CHECK(VFIO_GROUP_FLAGS_VIABLE == 1);
    CHECK(VFIO_GROUP_FLAGS_CONTAINER_SET == 2);
}

TEST_CASE("the VMM channel's messages keep their numbers and layouts", "[uapi]") {
    CHECK(std::string(IOASIDD_CHANNEL_PATH) == "/run/ioasidd/vmm.sock");
    CHECK(IOASIDD_CHANNEL_MMAP == 1);
    CHECK(IOASIDD_CHANNEL_KVM_FILE == 2);
    CHECK(sizeof(ioasidd_channel_request) == 32);
    PIN(ioasidd_channel_request, op, 4);
    PIN(ioasidd_channel_request, offset, 8);
    PIN(ioasidd_channel_request, length, 16);
    PIN(ioasidd_channel_request, prot, 24);
    PIN(ioasidd_channel_request, flags, 28);
    CHECK(sizeof(ioasidd_channel_reply) == 16);
    PIN(ioasidd_channel_reply, result, 4);
    PIN(ioasidd_channel_reply, offset, 8);
}

TEST_CASE("VFIO legacy container structs are the kernel's", "[uapi]") {
    CHECK(VFIO_TYPE1v2_IOMMU == 3);
    CHECK(sizeof(vfio_group_status) == 8);
    CHECK(VFIO_GROUP_FLAGS_VIABLE == 1);
    CHECK(sizeof(vfio_iommu_type1_info) == 24);
    PIN(vfio_iommu_type1_info, iova_pgsizes, 8);
    PIN(vfio_iommu_type1_info, cap_offset, 16);
    CHECK(sizeof(vfio_iommu_type1_info_cap_iova_range) == 16);
    PIN(vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
    PIN(vfio_iommu_type1_info_cap_iova_range, iova_ranges, 16);
    CHECK(sizeof(vfio_iova_range) == 16);
    CHECK(sizeof(vfio_iommu_type1_dma_map) == 32);
    PIN(vfio_iommu_type1_dma_map, vaddr, 8);
    PIN(vfio_iommu_type1_dma_map, iova, 16);
    PIN(vfio_iommu_type1_dma_map, size, 24);
    CHECK(sizeof(vfio_iommu_type1_dma_unmap) == 24);
    PIN(vfio_iommu_type1_dma_unmap, iova, 8);
    PIN(vfio_iommu_type1_dma_unmap, size, 16);
    CHECK(VFIO_DMA_MAP_FLAG_READ == 1);
    CHECK(VFIO_DMA_MAP_FLAG_WRITE == 2);
    CHECK(VFIO_IOMMU_GET_INFO == 0x3b70);
    CHECK(VFIO_IOMMU_MAP_DMA == 0x3b71);
    CHECK(VFIO_IOMMU_UNMAP_DMA == 0x3b72);
    CHECK(VFIO_GROUP_GET_DEVICE_FD == 0x3b6a);
}

TEST_CASE("the mock device's flags and hardware info are the kernel's", "[uapi]") {
    CHECK(MOCK_FLAGS_DEVICE_NO_DIRTY == 1);
    CHECK(MOCK_FLAGS_DEVICE_HUGE_IOVA == 2);
    CHECK(IOMMU_HW_INFO_TYPE_SELFTEST == 0xfeedbeef);
    CHECK(IOMMU_HW_INFO_SELFTEST_REGVAL == 0xdeadbeef);
    CHECK(sizeof(iommu_test_hw_info) == 8);
    PIN(iommu_test_hw_info, test_reg, 4);
}

TEST_CASE("dirty tracking's structs and flags are the kernel's", "[uapi]") {
    CHECK(IOMMU_HWPT_DIRTY_TRACKING_ENABLE == 1);
    CHECK(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR == 1);
    CHECK(sizeof(iommu_hwpt_set_dirty_tracking) == 16);
    PIN(iommu_hwpt_set_dirty_tracking, flags, 4);
    PIN(iommu_hwpt_set_dirty_tracking, hwpt_id, 8);
    PIN(iommu_hwpt_set_dirty_tracking, __reserved, 12);
    CHECK(sizeof(iommu_hwpt_get_dirty_bitmap) == 48);
    PIN(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4);
    PIN(iommu_hwpt_get_dirty_bitmap, flags, 8);
    PIN(iommu_hwpt_get_dirty_bitmap, __reserved, 12);
    PIN(iommu_hwpt_get_dirty_bitmap, iova, 16);
    PIN(iommu_hwpt_get_dirty_bitmap, length, 24);
    PIN(iommu_hwpt_get_dirty_bitmap, page_size, 32);
    PIN(iommu_hwpt_get_dirty_bitmap, data, 40);
}
