#include "model/topology.h"

#include <algorithm>
#include <cerrno>

#include "model/refusal.h"

namespace ioasid::model {

namespace {

bool is_vfio_driver(const std::string& d) {
    auto ends_with = [&](const char* s) {
        const std::string suffix(s);
        return d.size() > suffix.size() &&
               d.compare(d.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    // vfio-pci and its variant drivers (mlx5_vfio_pci, nvgrace-gpu-vfio-pci).
    return d == "vfio-pci" || ends_with("_vfio_pci") || ends_with("-vfio-pci");
}

}  // namespace

bool PciDevice::vfio_bound() const {
    return !emulated() && is_vfio_driver(driver);
}

bool tolerates_user_dma(const PciDevice& dev) {
    if (dev.emulated() || dev.driver.empty() || is_vfio_driver(dev.driver)) return true;
    if (dev.driver == "pci-stub") return true;
    return dev.driver == "pcieport" && dev.is_bridge();
}

int Topology::add_device(PciDevice dev) {
    if (devices_.count(dev.address)) return -EEXIST;
    Group& g = groups_[dev.group];
    g.id = dev.group;
    g.devices.push_back(dev.address);
    std::string address = dev.address;
    devices_.emplace(std::move(address), std::move(dev));
    return 0;
}

int Topology::remove_device(const std::string& address) {
    auto it = devices_.find(address);
    if (it == devices_.end()) return -ENOENT;
    const uint32_t gid = it->second.group;
    devices_.erase(it);
    Group& g = groups_[gid];
    std::erase(g.devices, address);
    // An empty group goes away with its last device, unless someone still
    // owns it (the owner's bound devices keep it until they are unbound) or
    // a group file still names it (its commands then fail with ENODEV).
    if (g.devices.empty() && !g.owner_count && !g.held_by_group_api()) groups_.erase(gid);
    return static_cast<int>(gid);
}

int Topology::set_driver(const std::string& address, const std::string& driver) {
    auto it = devices_.find(address);
    if (it == devices_.end()) return -ENOENT;
    if (it->second.driver == driver) return 0;
    it->second.driver = driver;
    return 1;
}

void Topology::set_reserved(uint32_t group, std::vector<ReservedRegion> regions) {
    Group& g = groups_[group];
    g.id = group;
    g.reserved = std::move(regions);
}

const PciDevice* Topology::device(const std::string& address) const {
    auto it = devices_.find(address);
    return it == devices_.end() ? nullptr : &it->second;
}

const Group* Topology::group(uint32_t id) const {
    auto it = groups_.find(id);
    return it == groups_.end() ? nullptr : &it->second;
}

Group* Topology::group(uint32_t id) {
    auto it = groups_.find(id);
    return it == groups_.end() ? nullptr : &it->second;
}

uint32_t Topology::blocking_devices(uint32_t id) const {
    const Group* g = group(id);
    if (!g) return 0;
    return static_cast<uint32_t>(
        std::count_if(g->devices.begin(), g->devices.end(),
                      [&](const std::string& a) { return !tolerates_user_dma(devices_.at(a)); }));
}

bool Topology::viable(uint32_t id) const {
    return group(id) && blocking_devices(id) == 0;
}

int Topology::claim(uint32_t id, const Context* owner) {
    Group* g = group(id);
    if (!g) return -ENODEV;
    // A bound kernel driver holds the group's default domain: the kernel's
    // claim fails with EPERM as it does for a second owner.
    if (g->owner_count && g->owner != owner)
        return refuse(-EPERM, "the device's group is owned by another context");
    if (!viable(id)) return refuse(-EPERM, "the device's group is not viable");
    g->owner = owner;
    g->owner_count++;
    return 0;
}

void Topology::release(uint32_t id, const Context* owner) {
    Group* g = group(id);
    if (!g || g->owner != owner || !g->owner_count) return;
    if (--g->owner_count == 0) {
        g->owner = nullptr;
        if (g->devices.empty() && !g->held_by_group_api()) groups_.erase(id);
    }
}

void Topology::drop_if_unused(uint32_t id) {
    const Group* g = group(id);
    if (g && g->devices.empty() && !g->owner_count && !g->held_by_group_api()) groups_.erase(id);
}

uint32_t Topology::free_group_id(uint32_t from) const {
    uint32_t id = from;
    while (groups_.count(id)) ++id;
    return id;
}

}  // namespace ioasid::model
