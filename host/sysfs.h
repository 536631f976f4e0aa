// Reads the host's PCI devices and IOMMU groups from sysfs (or a fake tree
// laid out the same way, for tests) into the topology model.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "model/topology.h"

namespace ioasid::host {

// One device from <sysfs>/bus/pci/devices/<address>: vendor, device,
// class, the driver link and the iommu_group link. False (and a reason)
// when the device is gone or has no IOMMU group (it cannot be assigned).
bool read_pci_device(const std::string& sysfs, const std::string& address, model::PciDevice& out,
                     std::string& why);

// <sysfs>/kernel/iommu_groups/<group>/reserved_regions.
std::vector<model::ReservedRegion> read_reserved_regions(const std::string& sysfs, uint32_t group);

// Every PCI device with an IOMMU group, and the reserved regions of their
// groups. Returns the number of devices added; messages for the log go to
// `notes` (devices skipped and why).
int scan_sysfs(const std::string& sysfs, model::Topology& topo, std::vector<std::string>& notes);

// The device number a sysfs "dev" file gives ("MAJOR:MINOR"); false when it
// cannot be read.
bool read_devnum(const std::string& dev_file, dev_t& out);

}  // namespace ioasid::host
