// The registry of device nodes: one per emulated device and per host device
// bound to vfio-pci, made at startup, by device-add and device-del on the control
// socket, and as host devices join or leave vfio-pci.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "daemon/control_commands.h"
#include "daemon/daemon.h"
#include "daemon/served.h"
#include "host/uevent.h"
#include "model/topology.h"

namespace ioasid::daemon {

// Whether /dev/DEVNAME is free, else an error saying whose it is. CUSE
// registers a name another driver has without complaint, and devtmpfs then
// keeps the other node (the kernel's own /dev/iommu where it has iommufd):
// clients would reach that driver, never ioasidd.
bool node_name_free(const std::string& devname);

// The node of one device, on /dev/ioasid's major with the next minor after
// it: 1 created, 0 the device gets none (not bound to vfio-pci), -1 failed.
int open_device_node(const Options& opts, model::SharedTopology& shared,
                     const model::PciDevice& dev, Served& s);
// One node per served device, numbered in address order.
bool open_device_nodes(const Options& opts, model::SharedTopology& shared, Served& s);

// The control socket's device-add and device-del.
bool device_add(const Options& opts, model::SharedTopology& shared, Served& s,
                const nlohmann::json& args, nlohmann::json& result, CommandError& err);
bool device_del(model::SharedTopology& shared, Served& s, const nlohmann::json& args,
                nlohmann::json& result, CommandError& err);

// A VMM channel request (VmmChannel::Handler): the device node whose file
// `file` is answers it.
int vmm_channel_request(Served& s, int file, pid_t peer, const ioasidd_channel_request& req,
                        ioasidd_channel_reply& reply, host::UniqueFd& out);

// GroupFiles::WithNode: `fn` on the node of the device at `address`, with
// the node kept (device-del waits); -ENODEV when no node serves it.
int with_device_node(Served& s, const std::string& address, const GroupFiles::NodeFn& fn);

// A uevent changed a group's viability or a device's binding to vfio-pci.
void topology_changed(const Options& opts, model::SharedTopology& shared, Served& s,
                      const host::TopologyChange& change, const std::string& action);

}  // namespace ioasid::daemon
