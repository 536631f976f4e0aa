// Devices in an iommufd context: bind, attach to an IOAS or HWPT, replace,
// detach, unbind, and HWPT_ALLOC, with the IOMMU group rules of the kernel
// (drivers/iommu/iommufd/device.c and iommu_device_claim_dma_owner()):
//
//  - binding claims the device's group for the context: EPERM when the group
//    is not viable or another context owns it;
//  - all devices of a group that are attached share one HWPT: attaching a
//    sibling elsewhere is EINVAL;
//  - attaching puts the device's reserved regions into the IOAS (EADDRINUSE
//    when a mapping is in the way), and a new domain its page size and
//    aperture.
//
// The caller holds the context's lock and the topology's.
#pragma once

#include <cstdint>
#include <string>

#include "model/context.h"
#include "model/topology.h"

namespace ioasid::model {

// The domain an emulated or forwarded device's IOMMU gives (see Group).
DomainGeometry group_geometry(const Group& group);

int bind_device(Context& ctx, Topology& topo, const std::string& address, uint32_t& dev_id);
void unbind_device(Context& ctx, Topology& topo, uint32_t dev_id);

// VFIO_DEVICE_ATTACH_IOMMUFD_PT: pt_id names an IOAS (an automatic HWPT is
// found or created) or a HWPT; on success pt_id holds the HWPT. A device
// already attached is moved (iommufd_device_replace()).
// How a device that a hot reset of another also resets is named to a
// context whose device cdev asks (vfio_iommufd_get_dev_id()): its devid when
// it is bound there, kDevidOwned when a device of its group is (nobody else
// can own it then), else kDevidNotOwned. A device not bound to vfio-pci is
// never owned: the reset cannot take it along.
constexpr uint32_t kDevidOwned = 0;
constexpr uint32_t kDevidNotOwned = 0xffffffff;
uint32_t dependent_devid(const Context& ctx, const Topology& topo, const std::string& address);

int attach_device(Context& ctx, Topology& topo, uint32_t dev_id, uint32_t& pt_id);
void detach_device(Context& ctx, Topology& topo, uint32_t dev_id);

// What IOMMU_HWPT_ALLOC asks of a domain beyond a plain paging one.
struct HwptOptions {
    bool nest_parent = false;     // IOMMU_HWPT_ALLOC_NEST_PARENT
    bool dirty_tracking = false;  // IOMMU_HWPT_ALLOC_DIRTY_TRACKING
    bool other_flags = false;     // any other flag
    bool user_data = false;       // driver data
    bool any() const { return nest_parent || dirty_tracking || other_flags || user_data; }
};

// IOMMU_HWPT_ALLOC of a paging HWPT. ioasidd's emulated IOMMU takes no
// options (EOPNOTSUPP); the selftest's mock IOMMU takes NEST_PARENT and, for
// a device capable of it, DIRTY_TRACKING, but no driver data. Checked where
// the kernel's iommufd_hwpt_paging_alloc() checks them.
int alloc_hwpt(Context& ctx, Topology& topo, uint32_t dev_id, uint32_t pt_id, uint32_t& out_id,
               const HwptOptions& options = {});

// The IOAS a bound device's DMA goes through, or nullptr when it is detached.
Ioas* device_ioas(const Context& ctx, uint32_t dev_id);

}  // namespace ioasid::model
