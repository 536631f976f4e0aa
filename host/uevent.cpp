#include "host/uevent.h"

#include <filesystem>
#include <set>

#include "host/sysfs.h"

namespace ioasid::host {

bool parse_uevent(std::string_view msg, Uevent& out) {
    const size_t at = msg.find('@');
    const size_t header_end = msg.find('\0');
    if (at == std::string_view::npos || header_end == std::string_view::npos || at > header_end)
        return false;
    out = Uevent{};
    size_t pos = header_end + 1;
    std::string slot;
    while (pos < msg.size()) {
        size_t end = msg.find('\0', pos);
        if (end == std::string_view::npos) end = msg.size();
        std::string_view kv = msg.substr(pos, end - pos);
        const size_t eq = kv.find('=');
        if (eq != std::string_view::npos) {
            std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
            if (key == "ACTION") out.action = value;
            if (key == "SUBSYSTEM") out.subsystem = value;
            if (key == "DEVPATH") out.devpath = value;
            if (key == "PCI_SLOT_NAME") slot = value;
        }
        pos = end + 1;
    }
    if (out.action.empty() || out.devpath.empty()) return false;
    out.address = slot.empty() ? out.devpath.substr(out.devpath.rfind('/') + 1) : slot;
    return true;
}

bool apply_uevent(const std::string& sysfs, const Uevent& ev, model::Topology& topo,
                  TopologyChange& change) {
    if (ev.subsystem != "pci") return false;
    // "change" is what resync_from_sysfs() asks with: look again.
    if (ev.action != "add" && ev.action != "remove" && ev.action != "bind" &&
        ev.action != "unbind" && ev.action != "change")
        return false;
    const model::PciDevice* known = topo.device(ev.address);
    if (known && known->emulated()) return false;
    model::PciDevice now;
    std::string why;
    const bool present = read_pci_device(sysfs, ev.address, now, why);
    change = TopologyChange{};
    change.address = ev.address;
    change.group = known ? known->group : now.group;
    change.was_viable = topo.group(change.group) && topo.viable(change.group);
    change.was_vfio = known && known->vfio_bound();
    bool changed;
    if (!present) {
        changed = known && topo.remove_device(ev.address) >= 0;
    } else if (!known) {
        const bool new_group = !topo.group(now.group);
        changed = topo.add_device(now) == 0;
        if (changed && new_group)
            topo.set_reserved(now.group, read_reserved_regions(sysfs, now.group));
    } else {
        changed = topo.set_driver(ev.address, now.driver) == 1;
    }
    change.now_viable = topo.group(change.group) && topo.viable(change.group);
    const model::PciDevice* after = topo.device(ev.address);
    change.now_vfio = after && after->vfio_bound();
    return changed;
}

std::vector<TopologyChange> resync_from_sysfs(const std::string& sysfs, model::Topology& topo) {
    std::set<std::string> addresses;
    for (const auto& [addr, dev] : topo.devices())
        if (!dev.emulated()) addresses.insert(addr);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(sysfs + "/bus/pci/devices", ec))
        addresses.insert(entry.path().filename().string());
    std::vector<TopologyChange> changes;
    for (const std::string& addr : addresses) {
        TopologyChange c;
        if (apply_uevent(sysfs, {"change", "pci", "", addr}, topo, c)) changes.push_back(c);
    }
    return changes;
}

}  // namespace ioasid::host
