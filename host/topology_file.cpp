#include "host/topology_file.h"

#include <algorithm>

#include <bit>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "devices/models.h"

namespace ioasid::host {

namespace {

using nlohmann::json;

uint64_t number(const json& j, const char* what) {
    if (j.is_number_unsigned()) return j.get<uint64_t>();
    if (j.is_string()) {
        const std::string s = j.get<std::string>();
        size_t used = 0;
        uint64_t v = std::stoull(s, &used, 0);
        if (used == s.size()) return v;
    }
    throw std::runtime_error(std::string(what) + " must be a number or a 0x string");
}

uint64_t number_or(const json& obj, const char* key, uint64_t dflt) {
    return obj.contains(key) ? number(obj.at(key), key) : dflt;
}

model::PciDevice parse_device(const json& j, uint32_t group) {
    model::PciDevice d;
    d.address = j.at("address").get<std::string>();
    d.group = group;
    d.model = j.value("model", "");
    d.driver = j.value("driver", "");
    const devices::PciIdentity* id = nullptr;
    if (!d.model.empty() && !(id = devices::model_identity(d.model)))
        throw std::runtime_error("unknown model '" + d.model + "' (known: edu, membar)");
    if (!d.model.empty() && !d.driver.empty())
        throw std::runtime_error("an emulated device has no host driver");
    d.bar_size = number_or(j, "bar_size", 0);
    if (d.bar_size &&
        (!std::has_single_bit(d.bar_size) || d.bar_size < 4096 || d.bar_size > (1u << 30)))
        throw std::runtime_error("bar_size must be a power of two from 4 KiB to 1 GiB");
    // The model's own ids by default; a stand-in host device names its own.
    d.vendor = static_cast<uint16_t>(number_or(j, "vendor", id ? id->vendor : 0));
    d.device = static_cast<uint16_t>(number_or(j, "device", id ? id->device : 0));
    d.class_code = static_cast<uint32_t>(number_or(j, "class", id ? id->class_code : 0));
    return d;
}

// "join": emulated devices put into a group the host already has (from
// sysfs): the group keeps its host devices, reserved regions and aperture,
// and is viable only while the host's drivers allow it.
void join_group(const json& g, model::Topology& topo) {
    if (!g.contains("id")) throw std::runtime_error("join needs the id of a host group");
    const auto id = static_cast<uint32_t>(number(g.at("id"), "id"));
    if (!topo.group(id))
        throw std::runtime_error("no host group " + std::to_string(id) + " to join");
    if (g.contains("reserved") || g.contains("aperture_bits"))
        throw std::runtime_error("a joined group keeps the host's reserved regions and aperture");
    for (const json& d : g.at("devices")) {
        model::PciDevice dev = parse_device(d, id);
        if (dev.model.empty()) throw std::runtime_error("only emulated devices can join");
        if (topo.add_device(dev))
            throw std::runtime_error("device " + dev.address + " already exists");
    }
}

void parse_group(const json& g, model::Topology& topo, uint32_t& next_id) {
    if (g.value("join", false)) return join_group(g, topo);
    uint32_t id = g.contains("id") ? static_cast<uint32_t>(number(g.at("id"), "id"))
                                   : topo.free_group_id(next_id);
    if (topo.group(id)) throw std::runtime_error("group " + std::to_string(id) + " already exists");
    const json& listed = g.at("devices");
    // Below the base only a stand-in for a host group (one with a device
    // that is not emulated), whose number the kernel could give.
    const bool stand_in =
        listed.is_array() && std::any_of(listed.begin(), listed.end(),
                                         [](const json& d) { return !d.contains("model"); });
    if (id < model::kEmulatedGroupBase && !stand_in)
        throw std::runtime_error("an emulated group's id must be at least " +
                                 std::to_string(model::kEmulatedGroupBase) +
                                 " (the kernel's own ids lie below)");
    next_id = id + 1;
    std::vector<model::ReservedRegion> reserved;
    for (const json& r : g.value("reserved", json::array())) {
        model::ReservedRegion rr{number(r.at("start"), "start"), number(r.at("last"), "last"),
                                 r.value("type", "reserved")};
        if (rr.last < rr.start) throw std::runtime_error("reserved region ends before it starts");
        reserved.push_back(rr);
    }
    const uint64_t bits = number_or(g, "aperture_bits", 48);
    if (bits < 32 || bits > 64) throw std::runtime_error("aperture_bits must be 32..64");
    const json& devs = g.at("devices");
    if (!devs.is_array() || devs.empty()) throw std::runtime_error("a group needs devices");
    for (const json& d : devs) {
        model::PciDevice dev = parse_device(d, id);
        if (topo.add_device(dev))
            throw std::runtime_error("device " + dev.address + " already exists");
    }
    topo.set_reserved(id, std::move(reserved));
    topo.group(id)->aperture_last = bits == 64 ? ~0ull : (1ull << bits) - 1;
}

}  // namespace

bool load_topology_json(const std::string& text, model::Topology& topo, std::string& error) {
    model::Topology staged = topo;  // all or nothing
    try {
        const json root = json::parse(text);
        uint32_t next_id = model::kEmulatedGroupBase;
        size_t i = 0;
        for (const json& g : root.at("groups")) {
            try {
                parse_group(g, staged, next_id);
            } catch (const std::exception& e) {
                throw std::runtime_error("group #" + std::to_string(i) + ": " + e.what());
            }
            ++i;
        }
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
    topo = std::move(staged);
    return true;
}

const char* default_topology_json() {
    return R"({"groups": [
  {"aperture_bits": 39,
   "reserved": [{"start": "0xfee00000", "last": "0xfeefffff", "type": "msi"}],
   "devices": [{"address": "fffe:00:00.0", "model": "edu"}]},
  {"aperture_bits": 39,
   "reserved": [{"start": "0xfee00000", "last": "0xfeefffff", "type": "msi"}],
   "devices": [{"address": "fffe:00:01.0", "model": "membar"},
               {"address": "fffe:00:01.1", "model": "membar", "bar_size": 16384}]}
]})";
}

}  // namespace ioasid::host
