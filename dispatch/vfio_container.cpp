#include "dispatch/vfio_container.h"

#include <cerrno>
#include <cstdint>
#include <mutex>

#include "dispatch/vfio_compat.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"
#include "model/topology.h"
#include "model/vfio_group.h"

namespace ioasid::dispatch {

namespace {

// vfio_container_ioctl_check_extension(): before SET_IOMMU every IOMMU
// driver is asked, after it the one chosen; type1 is the only one here.
// (Type1 also says 1 for NESTING, and for UPDATE_VADDR once set, which
// ioasidd does not serve: 0 keeps a program from asking for them.)
int check_extension(uint64_t type) {
    switch (type) {
        case VFIO_TYPE1_IOMMU:
        case VFIO_TYPE1v2_IOMMU:
        case VFIO_UNMAP_ALL:
            return 1;
        case VFIO_DMA_CC_IOMMU:
            // vfio_domains_have_enforce_cache_coherency(): 0 without an
            // IOMMU, and with one 1 only if every group's domain enforces
            // coherency, which none of ioasidd's does (nor QEMU's VT-d,
            // which has no snoop control): 0 either way.
            return 0;
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
            return check_extension(arg);
        case VFIO_SET_IOMMU: {
            if (!ctx.topology()) return -ENODEV;
            std::lock_guard lock(ctx.topology()->mutex);  // context -> topology
            return model::container_set_iommu(ctx, ctx.topology()->topo,
                                              arg > UINT32_MAX ? 0 : uint32_t(arg));
        }
        default:
            // vfio_fops_unl_ioctl(): the rest goes to the IOMMU driver, and
            // is EINVAL while there is none.
            if (!ctx.vfio_container().iommu_type)
                return refuse(-EINVAL, "the container has no IOMMU yet (SET_IOMMU)");
            return vfio_compat_ioctl(ctx, cmd, arg, mem, caller);
    }
}

Footprint vfio_container_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                                   UserMemory& known) {
    if (cmd == VFIO_SET_IOMMU || !ctx.vfio_container().iommu_type) return {};
    return vfio_compat_footprint(ctx, cmd, arg, known);
}

}  // namespace ioasid::dispatch
