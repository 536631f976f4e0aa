// The emulated devices of a topology file (--topology FILE, and the control
// socket's device-add later), and the built-in demo used when there is
// nothing else.
//
//   {"groups": [
//     {"id": 100000000,                 // optional: the first free from 100000000
//      "aperture_bits": 39,             // optional: the IOMMU's input width, 48
//      "reserved": [{"start": "0xfee00000", "last": "0xfeefffff", "type": "msi"}],
//      "devices": [
//        {"address": "fffe:00:00.0", "model": "edu"},
//        {"address": "fffe:00:01.0", "model": "membar", "bar_size": 65536},
//        {"address": "fffe:00:02.0", "vendor": "0x8086", "device": "0x10d3",
//         "class": "0x020000", "driver": "e1000e"}]}]}
//
// A device without "model" is not served: it stands for a host device with
// a driver, to build groups that are not viable. Only a group with such a
// stand-in may take an "id" below model::kEmulatedGroupBase, where the
// kernel's own groups are numbered. A group with "join": true
// and the "id" of a host group (from sysfs) adds emulated devices to it;
// they are then viable only while the host's drivers allow. Numbers may be
// JSON numbers or strings with a 0x prefix.
#pragma once

#include <string>

#include "model/topology.h"

namespace ioasid::host {

// Adds the groups and devices of `json` to `topo`; all or nothing. False and
// a message naming the offending entry on any error.
bool load_topology_json(const std::string& json, model::Topology& topo, std::string& error);

// Two groups: an edu alone (with the MSI window of a VT-d), and two memory-BAR
// devices that share a group.
const char* default_topology_json();

}  // namespace ioasid::host
