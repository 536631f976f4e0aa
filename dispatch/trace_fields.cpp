#include "dispatch/trace_fields.h"

#include <linux/ioctl.h>

#include <cstddef>
#include <cstring>

#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "ioasid/vfio.h"

namespace ioasid::dispatch {
namespace {

enum Dir : uint8_t { In, Out };

struct Field {
    const char* name;
    uint8_t offset;
    uint8_t size;
    FieldFormat format;
    Dir dir;
};

// A layout for either kind of node, or only one.
enum class On : uint8_t { Any, Iommufd, Device };

struct Layout {
    uint32_t cmd;
    std::span<const Field> fields;
    On on = On::Any;
};

#define F(type, field, fmt, dir)                                                  \
    Field {                                                                       \
#field, offsetof(type, field), sizeof(type::field), FieldFormat::fmt, dir \
    }

// The size or argsz field every struct starts with is left out: it only says
// which version of the struct the caller knows.
constexpr Field kDestroy[] = {F(iommu_destroy, id, Dec, In)};
constexpr Field kIoasAlloc[] = {F(iommu_ioas_alloc, flags, Hex, In),
                                F(iommu_ioas_alloc, out_ioas_id, Dec, Out)};
constexpr Field kIovaRanges[] = {F(iommu_ioas_iova_ranges, ioas_id, Dec, In),
                                 F(iommu_ioas_iova_ranges, num_iovas, Dec, In),
                                 F(iommu_ioas_iova_ranges, allowed_iovas, Hex, In),
                                 F(iommu_ioas_iova_ranges, num_iovas, Dec, Out),
                                 F(iommu_ioas_iova_ranges, out_iova_alignment, Hex, Out)};
constexpr Field kAllowIovas[] = {F(iommu_ioas_allow_iovas, ioas_id, Dec, In),
                                 F(iommu_ioas_allow_iovas, num_iovas, Dec, In),
                                 F(iommu_ioas_allow_iovas, allowed_iovas, Hex, In)};
constexpr Field kMap[] = {F(iommu_ioas_map, flags, Hex, In),   F(iommu_ioas_map, ioas_id, Dec, In),
                          F(iommu_ioas_map, user_va, Hex, In), F(iommu_ioas_map, length, Hex, In),
                          F(iommu_ioas_map, iova, Hex, In),    F(iommu_ioas_map, iova, Hex, Out)};
constexpr Field kCopy[] = {
    F(iommu_ioas_copy, flags, Hex, In),       F(iommu_ioas_copy, dst_ioas_id, Dec, In),
    F(iommu_ioas_copy, src_ioas_id, Dec, In), F(iommu_ioas_copy, length, Hex, In),
    F(iommu_ioas_copy, dst_iova, Hex, In),    F(iommu_ioas_copy, src_iova, Hex, In),
    F(iommu_ioas_copy, dst_iova, Hex, Out)};
constexpr Field kUnmap[] = {
    F(iommu_ioas_unmap, ioas_id, Dec, In), F(iommu_ioas_unmap, iova, Hex, In),
    F(iommu_ioas_unmap, length, Hex, In), F(iommu_ioas_unmap, length, Hex, Out)};
constexpr Field kOption[] = {F(iommu_option, option_id, Dec, In), F(iommu_option, op, Dec, In),
                             F(iommu_option, object_id, Dec, In), F(iommu_option, val64, Dec, In),
                             F(iommu_option, val64, Dec, Out)};
constexpr Field kVfioIoas[] = {F(iommu_vfio_ioas, ioas_id, Dec, In),
                               F(iommu_vfio_ioas, op, Dec, In),
                               F(iommu_vfio_ioas, ioas_id, Dec, Out)};
constexpr Field kHwptAlloc[] = {
    F(iommu_hwpt_alloc, flags, Hex, In),    F(iommu_hwpt_alloc, dev_id, Dec, In),
    F(iommu_hwpt_alloc, pt_id, Dec, In),    F(iommu_hwpt_alloc, data_type, Dec, In),
    F(iommu_hwpt_alloc, data_len, Dec, In), F(iommu_hwpt_alloc, out_hwpt_id, Dec, Out)};
constexpr Field kHwInfo[] = {F(iommu_hw_info, flags, Hex, In),
                             F(iommu_hw_info, dev_id, Dec, In),
                             F(iommu_hw_info, data_len, Dec, In),
                             F(iommu_hw_info, data_uptr, Hex, In),
                             F(iommu_hw_info, data_len, Dec, Out),
                             F(iommu_hw_info, out_data_type, Dec, Out),
                             F(iommu_hw_info, out_capabilities, Hex, Out)};
constexpr Field kSetDirty[] = {F(iommu_hwpt_set_dirty_tracking, flags, Hex, In),
                               F(iommu_hwpt_set_dirty_tracking, hwpt_id, Dec, In)};
constexpr Field kGetDirty[] = {F(iommu_hwpt_get_dirty_bitmap, hwpt_id, Dec, In),
                               F(iommu_hwpt_get_dirty_bitmap, flags, Hex, In),
                               F(iommu_hwpt_get_dirty_bitmap, iova, Hex, In),
                               F(iommu_hwpt_get_dirty_bitmap, length, Hex, In),
                               F(iommu_hwpt_get_dirty_bitmap, page_size, Hex, In),
                               F(iommu_hwpt_get_dirty_bitmap, data, Hex, In)};
constexpr Field kHwptInvalidate[] = {
    F(iommu_hwpt_invalidate, hwpt_id, Dec, In),   F(iommu_hwpt_invalidate, data_uptr, Hex, In),
    F(iommu_hwpt_invalidate, data_type, Dec, In), F(iommu_hwpt_invalidate, entry_len, Dec, In),
    F(iommu_hwpt_invalidate, entry_num, Dec, In), F(iommu_hwpt_invalidate, entry_num, Dec, Out)};
// The op's arguments live in a union: only what every op has.
constexpr Field kTestCmd[] = {F(iommu_test_cmd, op, Dec, In), F(iommu_test_cmd, id, Dec, In)};
constexpr Field kCompatInfo[] = {
    F(vfio_iommu_type1_info, argsz, Dec, In), F(vfio_iommu_type1_info, argsz, Dec, Out),
    F(vfio_iommu_type1_info, flags, Hex, Out), F(vfio_iommu_type1_info, iova_pgsizes, Hex, Out),
    F(vfio_iommu_type1_info, cap_offset, Dec, Out)};
constexpr Field kCompatMap[] = {
    F(vfio_iommu_type1_dma_map, flags, Hex, In), F(vfio_iommu_type1_dma_map, vaddr, Hex, In),
    F(vfio_iommu_type1_dma_map, iova, Hex, In), F(vfio_iommu_type1_dma_map, size, Hex, In)};
constexpr Field kCompatUnmap[] = {
    F(vfio_iommu_type1_dma_unmap, flags, Hex, In), F(vfio_iommu_type1_dma_unmap, iova, Hex, In),
    F(vfio_iommu_type1_dma_unmap, size, Hex, In), F(vfio_iommu_type1_dma_unmap, size, Hex, Out)};
constexpr Field kGroupStatus[] = {F(ioasidd_group_status, flags, Hex, In),
                                  F(ioasidd_group_status, id, Dec, In),
                                  F(ioasidd_group_status, out_group, Dec, Out),
                                  F(ioasidd_group_status, out_flags, Hex, Out),
                                  F(ioasidd_group_status, out_num_devices, Dec, Out),
                                  F(ioasidd_group_status, out_num_blocking, Dec, Out)};
constexpr Field kDeviceInfo[] = {
    F(vfio_device_info, argsz, Dec, In), F(vfio_device_info, flags, Hex, Out),
    F(vfio_device_info, num_regions, Dec, Out), F(vfio_device_info, num_irqs, Dec, Out)};
constexpr Field kRegionInfo[] = {
    F(vfio_region_info, index, Dec, In), F(vfio_region_info, flags, Hex, Out),
    F(vfio_region_info, size, Hex, Out), F(vfio_region_info, offset, Hex, Out)};
constexpr Field kIrqInfo[] = {F(vfio_irq_info, index, Dec, In), F(vfio_irq_info, flags, Hex, Out),
                              F(vfio_irq_info, count, Dec, Out)};
constexpr Field kSetIrqs[] = {F(vfio_irq_set, flags, Hex, In), F(vfio_irq_set, index, Dec, In),
                              F(vfio_irq_set, start, Dec, In), F(vfio_irq_set, count, Dec, In)};
constexpr Field kFeature[] = {F(vfio_device_feature, argsz, Dec, In),
                              F(vfio_device_feature, flags, Hex, In)};
constexpr Field kBind[] = {F(vfio_device_bind_iommufd, flags, Hex, In),
                           F(vfio_device_bind_iommufd, iommufd, Signed, In),
                           F(vfio_device_bind_iommufd, out_devid, Dec, Out)};
constexpr Field kAttach[] = {F(vfio_device_attach_iommufd_pt, flags, Hex, In),
                             F(vfio_device_attach_iommufd_pt, pt_id, Dec, In),
                             F(vfio_device_attach_iommufd_pt, pt_id, Dec, Out)};
constexpr Field kDetach[] = {F(vfio_device_detach_iommufd_pt, flags, Hex, In)};
constexpr Field kHotResetInfo[] = {F(vfio_pci_hot_reset_info, argsz, Dec, In),
                                   F(vfio_pci_hot_reset_info, flags, Hex, Out),
                                   F(vfio_pci_hot_reset_info, count, Dec, Out)};
constexpr Field kHotReset[] = {F(vfio_pci_hot_reset, flags, Hex, In),
                               F(vfio_pci_hot_reset, count, Dec, In)};
constexpr Field kHotResetGroups[] = {F(ioasidd_hot_reset_groups, flags, Hex, In),
                                     F(ioasidd_hot_reset_groups, vfio_flags, Hex, In),
                                     F(ioasidd_hot_reset_groups, count, Dec, In)};
constexpr Field kIoeventfd[] = {
    F(vfio_device_ioeventfd, flags, Hex, In), F(vfio_device_ioeventfd, offset, Hex, In),
    F(vfio_device_ioeventfd, data, Hex, In), F(vfio_device_ioeventfd, fd, Signed, In)};
constexpr Field kRegionRw[] = {
    F(ioasidd_region_rw, flags, Hex, In), F(ioasidd_region_rw, offset, Hex, In),
    F(ioasidd_region_rw, length, Hex, In), F(ioasidd_region_rw, data, Hex, In)};
// The group API's: a cookie alone, or the device commands' struct.
struct CookieArg {
    __u64 cookie;
};
constexpr Field kCookieIn[] = {F(CookieArg, cookie, Hex, In)};
constexpr Field kCookieOut[] = {F(CookieArg, cookie, Hex, Out)};
constexpr Field kGroupDevice[] = {F(ioasidd_group_device, name, Hex, In),
                                  F(ioasidd_group_device, cookie, Hex, In)};
constexpr Field kVfioGroupStatus[] = {F(vfio_group_status, flags, Hex, Out)};

#undef F

// iommufd and VFIO share the ioctl type ';', and the type1 container
// commands /dev/ioasid serves share numbers with device commands.
constexpr Layout kLayouts[] = {
    {IOMMU_DESTROY, kDestroy},
    {IOMMU_IOAS_ALLOC, kIoasAlloc},
    {IOMMU_IOAS_IOVA_RANGES, kIovaRanges},
    {IOMMU_IOAS_ALLOW_IOVAS, kAllowIovas},
    {IOMMU_IOAS_MAP, kMap},
    {IOMMU_IOAS_COPY, kCopy},
    {IOMMU_IOAS_UNMAP, kUnmap},
    {IOMMU_OPTION, kOption},
    {IOMMU_VFIO_IOAS, kVfioIoas},
    {IOMMU_HWPT_ALLOC, kHwptAlloc},
    {IOMMU_GET_HW_INFO, kHwInfo},
    {IOMMU_HWPT_SET_DIRTY_TRACKING, kSetDirty},
    {IOMMU_HWPT_GET_DIRTY_BITMAP, kGetDirty},
    {IOMMU_HWPT_INVALIDATE, kHwptInvalidate},
    {IOMMU_TEST_CMD, kTestCmd},
    {IOASIDD_GROUP_STATUS, kGroupStatus},
    {VFIO_IOMMU_GET_INFO, kCompatInfo, On::Iommufd},
    {VFIO_IOMMU_MAP_DMA, kCompatMap, On::Iommufd},
    {VFIO_IOMMU_UNMAP_DMA, kCompatUnmap, On::Iommufd},
    {VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, kHotResetInfo, On::Device},
    {VFIO_DEVICE_PCI_HOT_RESET, kHotReset, On::Device},
    {IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, kHotResetGroups, On::Device},
    {VFIO_DEVICE_IOEVENTFD, kIoeventfd, On::Device},
    {VFIO_DEVICE_GET_INFO, kDeviceInfo},
    {VFIO_DEVICE_GET_REGION_INFO, kRegionInfo},
    {VFIO_DEVICE_GET_IRQ_INFO, kIrqInfo},
    {VFIO_DEVICE_SET_IRQS, kSetIrqs},
    {VFIO_DEVICE_FEATURE, kFeature},
    {VFIO_DEVICE_BIND_IOMMUFD, kBind},
    {VFIO_DEVICE_ATTACH_IOMMUFD_PT, kAttach},
    {VFIO_DEVICE_DETACH_IOMMUFD_PT, kDetach},
    {IOASIDD_REGION_RW, kRegionRw},
    {IOASIDD_FILE_COOKIE, kCookieOut},
    {IOASIDD_GROUP_SET_CONTAINER, kCookieIn, On::Iommufd},
    {IOASIDD_GROUP_FIND_DEVICE, kGroupDevice, On::Iommufd},
    {IOASIDD_GROUP_OPEN_DEVICE, kGroupDevice, On::Iommufd},
    {VFIO_GROUP_GET_STATUS, kVfioGroupStatus, On::Iommufd},
};

uint64_t load(std::span<const uint8_t> bytes, const Field& f) {
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + f.offset, f.size);  // little-endian hosts only, like the ABI
    if (f.format == FieldFormat::Signed && f.size < 8 && (v >> (8 * f.size - 1)) & 1)
        v |= ~uint64_t{0} << (8 * f.size);
    return v;
}

}  // namespace

std::vector<DecodedField> decode_arguments(NodeKind node, uint32_t cmd,
                                           std::span<const uint8_t> before,
                                           std::span<const uint8_t> after, bool succeeded) {
    const On here = node == NodeKind::Device ? On::Device : On::Iommufd;
    std::vector<DecodedField> out;
    for (const Layout& l : kLayouts) {
        if (l.cmd != cmd || (l.on != On::Any && l.on != here)) continue;
        for (const Field& f : l.fields) {
            std::span<const uint8_t> from = f.dir == In ? before : after;
            if (f.dir == Out && !succeeded) continue;
            if (size_t{f.offset} + f.size > from.size()) continue;
            out.push_back({f.name, load(from, f), f.format, f.dir == Out});
        }
        break;
    }
    return out;
}

}  // namespace ioasid::dispatch
