#include "dispatch/vfio_container.h"

#include <cerrno>
#include <cstdint>

#include "dispatch/vfio_compat.h"
#include "ioasid/vfio.h"
#include "model/vfio_group.h"

namespace ioasid::dispatch {

namespace {

// vfio_container_ioctl_check_extension(): before SET_IOMMU every IOMMU
// driver is asked, after it the one chosen; type1 is the only one here.
// (Type1 also says 1 for NESTING, and for UPDATE_VADDR once set, which
// ioasidd does not serve: 0 keeps a program from asking for them.)
int check_extension(model::Context& ctx, uint64_t type, UserMemory& mem, Caller& caller) {
    switch (type) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
            return 1;
        case VFIO_DMA_CC_IOMMU:
            // Without an IOMMU no domain enforces coherency; with one,
            // vfio_compat answers for the IOAS.
            return ctx.vfio_container().iommu_type
                       ? vfio_compat_ioctl(ctx, VFIO_CHECK_EXTENSION, type, mem, caller)
                       : 0;
        default:
            return 0;
    }
}

}  // namespace

int vfio_container_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem,
                         Caller& caller) {
    switch (cmd) {
        case VFIO_GET_API_VERSION:
            return VFIO_API_VERSION;
        case VFIO_CHECK_EXTENSION:
            return check_extension(ctx, arg, mem, caller);
        case VFIO_SET_IOMMU:
            return model::container_set_iommu(ctx, arg > UINT32_MAX ? 0 : uint32_t(arg));
        default:
            // vfio_fops_unl_ioctl(): the rest goes to the IOMMU driver, and
            // is EINVAL while there is none.
            if (!ctx.vfio_container().iommu_type) return -EINVAL;
            return vfio_compat_ioctl(ctx, cmd, arg, mem, caller);
    }
}

Footprint vfio_container_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                                   UserMemory& known) {
    if (cmd == VFIO_SET_IOMMU || !ctx.vfio_container().iommu_type) return {};
    return vfio_compat_footprint(ctx, cmd, arg, known);
}

}  // namespace ioasid::dispatch
