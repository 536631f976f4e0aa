#include "dispatch/vfio_compat.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>

#include "dispatch/caller_source.h"
#include "dispatch/ucmd.h"
#include "ioasid/vfio.h"
#include "model/ioas.h"
#include "model/objects.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

constexpr size_t kMapMin = offsetof(vfio_iommu_type1_dma_map, size) + 8;
constexpr size_t kUnmapMin = offsetof(vfio_iommu_type1_dma_unmap, size) + 8;
constexpr size_t kInfoMin = offsetof(vfio_iommu_type1_info, iova_pgsizes) + 8;

// The IOAS set with VFIO_IOAS (none is id 0, which names no object).
model::Ioas* compat_ioas(const model::Context& ctx) {
    return ctx.ioas(ctx.vfio_ioas());
}

// iommufd_vfio_map_dma(): a fixed IOVA, the protection the flags say.
int map_dma(model::Context& ctx, uint64_t arg, UserMemory& mem, Caller& caller) {
    vfio_iommu_type1_dma_map map{};
    if (mem.read(arg, &map, kMapMin)) return -EFAULT;
    if (map.argsz < kMapMin ||
        (map.flags & ~uint32_t{VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE}))
        return refuse(-EINVAL, "MAP_DMA: argsz short, or flags past READ and WRITE");
    model::Ioas* ioas = compat_ioas(ctx);
    if (!ioas) return -ENODEV;
    uint8_t prot = 0;
    if (map.flags & VFIO_DMA_MAP_FLAG_READ) prot |= model::kProtRead;
    if (map.flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= model::kProtWrite;
    uint64_t iova = map.iova;
    int rc = ioas->map(map.vaddr, map.size, prot, true, caller_source(ctx, caller), iova);
    if (rc) return rc;
    return pin_new_area(*ioas, caller, iova, map.vaddr, map.size, prot & model::kProtWrite);
}

// iommufd_vfio_unmap_dma(). TYPE1 (huge pages off) may unmap inside a
// mapping: the areas are cut at the range's ends first.
int unmap_dma(model::Context& ctx, uint64_t arg, UserMemory& mem) {
    vfio_iommu_type1_dma_unmap unmap{};
    if (mem.read(arg, &unmap, kUnmapMin)) return -EFAULT;
    if (unmap.argsz < kUnmapMin || (unmap.flags & ~uint32_t{VFIO_DMA_UNMAP_FLAG_ALL}))
        return refuse(-EINVAL, "UNMAP_DMA: argsz short, or flags past UNMAP_FLAG_ALL");
    model::Ioas* ioas = compat_ioas(ctx);
    if (!ioas) return -ENODEV;
    uint64_t unmapped = 0;
    int rc;
    if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
        if (unmap.iova || unmap.size)
            return refuse(-EINVAL, "UNMAP_DMA: UNMAP_FLAG_ALL with an IOVA or size");
        rc = ioas->unmap_all(unmapped);
    } else {
        if (!ioas->huge_pages()) {
            rc = ioas->cut(unmap.iova + unmap.size - 1);
            if (!rc && unmap.iova) rc = ioas->cut(unmap.iova - 1);
            if (rc) return rc;
        }
        rc = ioas->unmap(unmap.iova, unmap.size, unmapped);
    }
    unmap.size = unmapped;
    if (mem.write(arg, &unmap, kUnmapMin)) rc = -EFAULT;
    return rc;
}

// VFIO_DMA_CC_IOMMU: 1 unless a HWPT of the IOAS does not enforce cache
// coherency, which none of ioasidd's IOMMUs (emulated, mock) does.
int cc_iommu(const model::Context& ctx) {
    if (!compat_ioas(ctx)) return -ENODEV;
    for (const auto& [id, obj] : ctx.objects().all())
        if (obj->type == model::ObjectType::HwptPaging &&
            static_cast<const model::HwptPagingObject&>(*obj).ioas_id == ctx.vfio_ioas())
            return 0;
    return 1;
}

int check_extension(const model::Context& ctx, uint64_t type) {
    switch (type) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
            return 1;  // ioasidd has no no-IOMMU mode
        case VFIO_DMA_CC_IOMMU:
            return cc_iommu(ctx);
        default:  // NOIOMMU, NESTING, UPDATE_VADDR and the rest
            return 0;
    }
}

// iommufd_vfio_set_iommu(): TYPE1 turns huge pages off, so that any range
// can be unmapped.
int set_iommu(model::Context& ctx, uint64_t type) {
    if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
        return refuse(-EINVAL, "SET_IOMMU: a type other than TYPE1 and TYPE1v2");
    model::Ioas* ioas = compat_ioas(ctx);
    if (!ioas) return -ENODEV;
    return type == VFIO_TYPE1_IOMMU ? ioas->set_huge_pages(false) : 0;
}

// The capabilities GET_INFO appends after the struct, each written only
// where the user's argsz has room for it; returns each one's size.
size_t cap_dma_avail(UserMemory& mem, uint64_t at, size_t avail, int& rc) {
    vfio_iommu_type1_info_dma_avail cap{{VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 0}, 0xffffffffu};
    if (avail >= sizeof(cap) && mem.write(at, &cap, sizeof(cap))) rc = -EFAULT;
    return sizeof(cap);
}

size_t cap_iova_ranges(const model::Ioas& ioas, UserMemory& mem, uint64_t at, size_t avail,
                       int& rc) {
    vfio_iommu_type1_info_cap_iova_range cap;  // (a flexible array: no aggregate init)
    cap.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
    cap.nr_iovas = 0;
    cap.reserved = 0;
    auto size_for = [](size_t n) { return sizeof(cap) + n * sizeof(vfio_iova_range); };
    for (const model::IovaRange& r : ioas.usable_ranges()) {
        const vfio_iova_range range{r.start, r.last};
        if (avail >= size_for(cap.nr_iovas + 1) &&
            mem.write(at + size_for(cap.nr_iovas), &range, sizeof(range)))
            rc = -EFAULT;
        cap.nr_iovas++;
    }
    if (avail >= size_for(cap.nr_iovas) && mem.write(at, &cap, sizeof(cap))) rc = -EFAULT;
    return size_for(cap.nr_iovas);
}

// iommufd_get_pagesizes(): the domains' common page sizes, at least PAGE_SIZE
// where they go below it, and no smaller than the IOVA alignment.
uint64_t page_sizes(const model::Ioas& ioas) {
    uint64_t sizes = ioas.pgsize_bitmap();
    if (sizes & (model::kPageSize - 1))
        sizes = (sizes & ~(model::kPageSize - 1)) | model::kPageSize;
    return std::max(sizes, ioas.iova_alignment());
}

// iommufd_vfio_iommu_get_info(): the caps chain is built as far as argsz
// reaches, and argsz comes back as the size of all of it.
int get_info(const model::Context& ctx, uint64_t arg, UserMemory& mem) {
    vfio_iommu_type1_info info{};
    if (mem.read(arg, &info, kInfoMin)) return -EFAULT;
    if (info.argsz < kInfoMin) return refuse(-EINVAL, "IOMMU_GET_INFO: argsz short");
    const size_t minsz = std::min<size_t>(info.argsz, sizeof(info));
    const model::Ioas* ioas = compat_ioas(ctx);
    if (!ioas) return -ENODEV;
    info.flags = VFIO_IOMMU_INFO_PGSIZES;
    info.iova_pgsizes = page_sizes(*ioas);
    info.cap_offset = 0;
    int rc = 0;
    size_t total = sizeof(info);
    uint64_t last_cap = 0;
    for (int i = 0; i < 2 && !rc; ++i) {
        const size_t avail = info.argsz > total ? info.argsz - total : 0;
        size_t size = i == 0 ? cap_dma_avail(mem, arg + total, avail, rc)
                             : cap_iova_ranges(*ioas, mem, arg + total, avail, rc);
        size = (size + 7) & ~size_t{7};
        const uint32_t next = static_cast<uint32_t>(total);
        if (!rc && last_cap && info.argsz >= total &&
            mem.write(last_cap + offsetof(vfio_info_cap_header, next), &next, sizeof(next)))
            rc = -EFAULT;
        last_cap = arg + total;
        total += size;
    }
    if (rc) return rc;
    if (info.argsz >= total) info.cap_offset = sizeof(info);
    info.argsz = static_cast<uint32_t>(total);
    info.flags |= VFIO_IOMMU_INFO_CAPS;
    return mem.write(arg, &info, minsz) ? -EFAULT : 0;
}

}  // namespace

namespace {

constexpr struct {
    uint32_t cmd;
    const char* name;
} kNames[kVfioCompatCommandCount] = {
    {VFIO_GET_API_VERSION, "VFIO_GET_API_VERSION"},
    {VFIO_CHECK_EXTENSION, "VFIO_CHECK_EXTENSION"},
    {VFIO_SET_IOMMU, "VFIO_SET_IOMMU"},
    {VFIO_IOMMU_GET_INFO, "VFIO_IOMMU_GET_INFO"},
    {VFIO_IOMMU_MAP_DMA, "VFIO_IOMMU_MAP_DMA"},
    {VFIO_IOMMU_UNMAP_DMA, "VFIO_IOMMU_UNMAP_DMA"},
};

}  // namespace

int vfio_compat_command_index(uint32_t cmd) {
    for (int i = 0; i < kVfioCompatCommandCount; ++i)
        if (kNames[i].cmd == cmd) return i;
    return -1;
}

const char* vfio_compat_command_name(uint32_t cmd) {
    const int i = vfio_compat_command_index(cmd);
    return i < 0 ? nullptr : kNames[i].name;
}

int vfio_compat_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem,
                      Caller& caller) {
    switch (cmd) {
        case VFIO_GET_API_VERSION:
            return VFIO_API_VERSION;
        case VFIO_SET_IOMMU:
            return set_iommu(ctx, arg);
        case VFIO_CHECK_EXTENSION:
            return check_extension(ctx, arg);
        case VFIO_IOMMU_GET_INFO:
            return get_info(ctx, arg, mem);
        case VFIO_IOMMU_MAP_DMA:
            return map_dma(ctx, arg, mem, caller);
        case VFIO_IOMMU_UNMAP_DMA:
            return unmap_dma(ctx, arg, mem);
        default:
            return -ENOTTY;
    }
}

Footprint vfio_compat_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                                UserMemory& known) {
    Footprint fp;
    switch (cmd) {
        case VFIO_IOMMU_MAP_DMA:
            fp.in.push_back({arg, kMapMin});
            break;
        case VFIO_IOMMU_UNMAP_DMA:
            fp.in.push_back({arg, kUnmapMin});
            fp.out.push_back({arg, kUnmapMin});
            break;
        case VFIO_IOMMU_GET_INFO: {
            // The argsz first; then, when the command gets as far as
            // writing, all of it, read so that the gaps the caps leave are
            // known when the reply copies it back.
            fp.in.push_back({arg, kInfoMin});
            uint32_t argsz;
            if (known.read(arg, &argsz, sizeof(argsz)) || argsz < kInfoMin || !compat_ioas(ctx))
                break;
            fp.in[0].len = argsz;
            fp.out.push_back({arg, argsz});
            break;
        }
        default:
            break;  // the others take their argument by value
    }
    return fp;
}

}  // namespace ioasid::dispatch
