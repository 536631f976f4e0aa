#include "daemon/device_registry.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "daemon/log.h"
#include "devices/models.h"
#include "host/caller.h"
#include "host/topology_file.h"

namespace ioasid::daemon {
namespace {

// The handler of one device's node: an emulated model, or forwarding for a
// host device bound to vfio-pci. Other host devices get no node.
std::unique_ptr<DeviceNode> device_handler(const model::PciDevice& dev,
                                           model::SharedTopology& shared, Served& s,
                                           dev_t iommufd_devt) {
    if (dev.emulated()) {
        auto node =
            std::make_unique<DeviceNode>(dev.address, devices::make_device(dev.model, dev.bar_size),
                                         shared, *s.iommufd, iommufd_devt);
        if (ControlServer* control = s.control.get())
            node->on_dma_fault = [control](const std::string& addr, uint64_t iova, uint64_t len,
                                           bool write) {
                control->emit(
                    "DMA_FAULT",
                    {{"device", addr}, {"iova", iova}, {"length", len}, {"write", write}});
            };
        return node;
    }
    if (dev.vfio_bound())
        return std::make_unique<DeviceNode>(dev.address, nullptr, shared, *s.iommufd, iommufd_devt,
                                            s.forwarding.get());
    return nullptr;
}

// The node serving `address`, or end(). Called with devices_mutex held.
std::list<ServedDevice>::iterator find_served(Served& s, const std::string& address) {
    return std::find_if(s.devices.begin(), s.devices.end(),
                        [&](const ServedDevice& d) { return d.handler->address() == address; });
}

// A node just made for `address` (the last one in the list): the control
// socket learns its name and subscribers are told.
nlohmann::json announce_added(Served& s, const std::string& address) {
    std::string node;
    {
        std::lock_guard lock(s.devices_mutex);
        node = s.devices.back().node->devname();
    }
    const nlohmann::json info = {{"device", address}, {"node", "/dev/" + node}};
    if (s.control_ctx) {
        std::lock_guard lock(s.control_ctx->nodes_mutex);
        s.control_ctx->nodes[address] = node;
    }
    if (s.control) s.control->emit("DEVICE_ADDED", info);
    return info;
}

// Takes a node's device from its clients and removes the node (closing its
// session makes the kernel remove it). Called with devices_mutex held.
nlohmann::json remove_node(Served& s, std::list<ServedDevice>::iterator it,
                           const std::string& why) {
    const std::string address = it->handler->address();
    const nlohmann::json info = {{"device", address}, {"node", "/dev/" + it->node->devname()}};
    {
        std::lock_guard lock(s.by_address_mutex);  // waits for a group file's use
        s.by_address.erase(address);
    }
    it->handler->revoke(why);
    if (s.device_dirs) s.device_dirs->withdraw(address);
    s.loop.remove(*it->node);
    s.devices.erase(it);
    if (s.control_ctx) {
        std::lock_guard lock(s.control_ctx->nodes_mutex);
        s.control_ctx->nodes.erase(address);
    }
    return info;
}

}  // namespace

bool node_name_free(const std::string& devname) {
    const std::string path = "/dev/" + devname;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return true;
    if (S_ISCHR(st.st_mode))
        LOG_ERROR(
            "%s exists already (character device %u:%u, not ioasidd's): choose another "
            "name (--iommufd-node, --device-node-pattern)",
            path.c_str(), major(st.st_rdev), minor(st.st_rdev));
    else
        LOG_ERROR(
            "%s exists already: choose another name (--iommufd-node, "
            "--device-node-pattern)",
            path.c_str());
    return false;
}

int open_device_node(const Options& opts, model::SharedTopology& shared,
                     const model::PciDevice& dev, Served& s) {
    ServedDevice sd;
    sd.handler = device_handler(dev, shared, s, s.iommufd_devt);
    if (!sd.handler) {
        LOG_DEBUG("%s (%s): not bound to vfio-pci, no node", dev.address.c_str(),
                  dev.driver.empty() ? "no driver" : dev.driver.c_str());
        return 0;
    }
    const unsigned index = s.next_index++;
    const std::string devname = node_name(opts.device_node_pattern, index);
    if (!node_name_free(devname)) return -1;
    int fd = cuse::open_cuse_device();
    if (fd < 0) return -1;
    cuse::NodeConfig cfg;
    cfg.make_caller = host::make_caller;
    cfg.devname = devname;
    cfg.major = major(s.iommufd_devt);
    cfg.minor = minor(s.iommufd_devt) + 1 + index;
    cfg.direct_memory = opts.direct_memory;
    cfg.busy_poll = std::chrono::microseconds(opts.busy_poll_us);
    cfg.on_ready = [&s, name = cfg.devname, addr = dev.address, fwd = dev.vfio_bound()] {
        LOG_INFO("serving /dev/%s: %s%s", name.c_str(), addr.c_str(),
                 fwd ? " (forwarded to VFIO)" : "");
        s.startup.node_ready();
    };
    sd.handler->trace = s.trace.get();
    sd.handler->node_name = cfg.devname;
    std::string error;
    sd.node = cuse::CuseNode::create(cfg, *sd.handler, fd, error);
    if (!sd.node) {
        LOG_ERROR("%s", error.c_str());
        return -1;
    }
    if (s.device_dirs)
        s.device_dirs->publish(dev.address, devname, makedev(cfg.major, cfg.minor), dev.group);
    std::lock_guard lock(s.devices_mutex);
    s.loop.add(*sd.node, 2);
    {
        std::lock_guard by_address(s.by_address_mutex);
        s.by_address[dev.address] = {sd.handler.get(), devname};
    }
    s.devices.push_back(std::move(sd));
    return 1;
}

bool open_device_nodes(const Options& opts, model::SharedTopology& shared, Served& s) {
    for (const auto& [addr, dev] : shared.topo.devices())
        if (open_device_node(opts, shared, dev, s) < 0) return false;
    return true;
}

// device-add takes the topology file's JSON; every emulated device it adds
// has its node when the reply comes.
bool device_add(const Options& opts, model::SharedTopology& shared, Served& s,
                const nlohmann::json& args, nlohmann::json& result, CommandError& err) {
    std::vector<model::PciDevice> added;
    {
        std::lock_guard lock(shared.mutex);
        const model::Topology before = shared.topo;
        std::string error;
        if (!host::load_topology_json(args.dump(), shared.topo, error)) {
            err = {"GenericError", error};
            return false;
        }
        for (const auto& [addr, dev] : shared.topo.devices())
            if (!before.device(addr)) added.push_back(dev);
    }
    result = nlohmann::json::array();
    for (const model::PciDevice& dev : added) {
        const size_t ready = s.startup.ready() + 1;
        if (open_device_node(opts, shared, dev, s) != 1 || !s.startup.wait(ready)) {
            err = {"GenericError", "the kernel refused a node for " + dev.address};
            return false;
        }
        result.push_back(announce_added(s, dev.address));
    }
    return true;
}

// device-del {"address"}: an emulated device leaves; its clients lose it.
bool device_del(model::SharedTopology& shared, Served& s, const nlohmann::json& args,
                nlohmann::json& result, CommandError& err) {
    if (!args.contains("address") || !args["address"].is_string()) {
        err = {"GenericError", "device-del wants {\"address\": \"dddd:bb:dd.f\"}"};
        return false;
    }
    const std::string addr = args["address"];
    std::lock_guard lock(s.devices_mutex);
    auto it = find_served(s, addr);
    const model::PciDevice* dev = nullptr;
    {
        std::lock_guard topo_lock(shared.mutex);
        dev = shared.topo.device(addr);
        if (it == s.devices.end() || !dev || !dev->emulated()) {
            err = {"DeviceNotFound", "no emulated device " + addr};
            return false;
        }
    }
    result = remove_node(s, it, addr + " was removed");
    {
        std::lock_guard topo_lock(shared.mutex);
        shared.topo.remove_device(addr);
    }
    s.control->emit("DEVICE_REMOVED", result);
    return true;
}

int vmm_channel_request(Served& s, int file, pid_t peer, const ioasidd_channel_request& req,
                        ioasidd_channel_reply& reply, host::UniqueFd& out) {
    struct stat st;
    if (::fstat(file, &st) || !S_ISCHR(st.st_mode)) return -EBADF;
    // Held across the call: device-del cannot take the node meanwhile.
    std::lock_guard lock(s.devices_mutex);
    for (ServedDevice& d : s.devices) {
        if (makedev(d.node->config().major, d.node->config().minor) != st.st_rdev) continue;
        // Served by the node's workers, which take none of our locks for it.
        const int id = ::ioctl(file, IOASIDD_FILE_ID);
        if (id <= 0) return -EBADF;
        return d.handler->channel(static_cast<uint32_t>(id), peer, req, reply, out);
    }
    LOG_DEBUG("vmm channel: pid %d sent a file that is none of our device nodes", peer);
    return -EBADF;
}

int with_device_node(Served& s, const std::string& address, const GroupFiles::NodeFn& fn) {
    std::lock_guard lock(s.by_address_mutex);
    auto it = s.by_address.find(address);
    return it == s.by_address.end() ? -ENODEV : fn(*it->second.first, it->second.second);
}

namespace {

// A group's viability changed: subscribers are told, and a group that is
// no longer viable has its devices taken from their clients.
void viability_changed(Served& s, model::SharedTopology& shared, const host::TopologyChange& c,
                       const std::string& action) {
    if (s.control)
        s.control->emit("GROUP_VIABILITY_CHANGED", {{"group", c.group},
                                                    {"viable", c.now_viable},
                                                    {"device", c.address},
                                                    {"action", action}});
    if (!c.lost_viability()) return;
    const std::string why = c.address + " " + action + ": the group is no longer viable";
    std::lock_guard devices_lock(s.devices_mutex);
    for (ServedDevice& d : s.devices) {
        uint32_t g;
        {
            std::lock_guard lock(shared.mutex);
            const model::PciDevice* dev = shared.topo.device(d.handler->address());
            g = dev ? dev->group : 0;
        }
        if (g != c.group || !d.handler->revoke(why) || !s.control) continue;
        s.control->emit("DEVICE_REVOKED", {{"device", d.handler->address()},
                                           {"node", "/dev/" + d.node->devname()},
                                           {"reason", why}});
    }
}

// A host device joined vfio-pci: it is forwarded through a node of its
// own. It left (unbound, or unplugged): its node goes. The kernel lets a
// vfio-pci device go only once its users closed it, and a client holding
// it gets VFIO's device request on its REQ eventfd first.
void vfio_binding_changed(const Options& opts, model::SharedTopology& shared, Served& s,
                          const host::TopologyChange& c, const std::string& action) {
    if (!c.now_vfio) {
        std::lock_guard lock(s.devices_mutex);
        auto it = find_served(s, c.address);
        if (it == s.devices.end()) return;
        const nlohmann::json info =
            remove_node(s, it, c.address + " " + action + ": no longer bound to vfio-pci");
        LOG_INFO("%s: left vfio-pci, node %s removed", c.address.c_str(),
                 info["node"].get<std::string>().c_str());
        if (s.control) s.control->emit("DEVICE_REMOVED", info);
        return;
    }
    model::PciDevice dev;
    {
        std::lock_guard lock(shared.mutex);
        const model::PciDevice* d = shared.topo.device(c.address);
        if (!d) return;
        dev = *d;
    }
    const size_t ready = s.startup.ready() + 1;
    if (open_device_node(opts, shared, dev, s) != 1 || !s.startup.wait(ready)) {
        LOG_ERROR("%s: bound to vfio-pci, but the kernel refused its node", c.address.c_str());
        return;
    }
    announce_added(s, c.address);
}

}  // namespace

void topology_changed(const Options& opts, model::SharedTopology& shared, Served& s,
                      const host::TopologyChange& c, const std::string& action) {
    if (c.viability_changed()) viability_changed(s, shared, c, action);
    if (c.vfio_changed()) vfio_binding_changed(opts, shared, s, c, action);
}

}  // namespace ioasid::daemon
