// Kernel uevents (NETLINK_KOBJECT_UEVENT) about PCI devices, and what they
// change in the topology: a device added or removed, bound to a driver or
// unbound. The driver is read back from sysfs rather than taken from the
// event, so a late or repeated event cannot leave the model wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/topology.h"

namespace ioasid::host {

struct Uevent {
    std::string action;     // add, remove, bind, unbind, change, ...
    std::string subsystem;  // pci, ...
    std::string devpath;
    std::string address;  // PCI_SLOT_NAME, or the last part of DEVPATH
};

// Parses one kernel message ("action@devpath\0KEY=value\0..."). False for
// anything else (udev's own messages start "libudev").
bool parse_uevent(std::string_view msg, Uevent& out);

struct TopologyChange {
    std::string address;
    uint32_t group = 0;
    bool was_viable = false;
    bool now_viable = false;
    // Whether the device was, and is, bound to vfio-pci: ioasidd forwards
    // exactly those host devices, so this says when a node comes or goes.
    bool was_vfio = false;
    bool now_vfio = false;
    bool lost_viability() const { return was_viable && !now_viable; }
    bool viability_changed() const { return was_viable != now_viable; }
    bool vfio_changed() const { return was_vfio != now_vfio; }
};

// Applies a PCI uevent to the topology. True when the model changed (and
// `change` says how); emulated devices are never touched by host events.
bool apply_uevent(const std::string& sysfs, const Uevent& ev, model::Topology& topo,
                  TopologyChange& change);

// After lost events: every host device refreshed from sysfs, new ones added,
// gone ones removed. One change per device whose state moved.
std::vector<TopologyChange> resync_from_sysfs(const std::string& sysfs, model::Topology& topo);

}  // namespace ioasid::host
