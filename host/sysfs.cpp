#include "host/sysfs.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ioasid::host {

namespace fs = std::filesystem;

namespace {

bool read_hex(const fs::path& p, uint64_t& out) {
    std::ifstream in(p);
    std::string s;
    if (!(in >> s)) return false;
    try {
        size_t used = 0;
        out = std::stoull(s, &used, 16);
        return used == s.size();
    } catch (const std::exception&) {
        return false;
    }
}

// The last component of a symlink's target ("../../../bus/pci/drivers/vfio-pci").
std::string link_name(const fs::path& p) {
    std::error_code ec;
    fs::path target = fs::read_symlink(p, ec);
    return ec ? std::string() : target.filename().string();
}

}  // namespace

bool read_pci_device(const std::string& sysfs, const std::string& address, model::PciDevice& out,
                     std::string& why) {
    const fs::path dir = fs::path(sysfs) / "bus/pci/devices" / address;
    uint64_t vendor = 0, device = 0, cls = 0;
    if (!read_hex(dir / "vendor", vendor) || !read_hex(dir / "device", device) ||
        !read_hex(dir / "class", cls)) {
        why = "no readable vendor/device/class";
        return false;
    }
    const std::string group = link_name(dir / "iommu_group");
    if (group.empty()) {
        why = "no IOMMU group";
        return false;
    }
    try {
        out.group = static_cast<uint32_t>(std::stoul(group));
    } catch (const std::exception&) {
        why = "IOMMU group '" + group + "' is not a number";
        return false;
    }
    if (out.group >= model::kEmulatedGroupBase) {
        why = "IOMMU group " + group + " is in the range of ioasidd's own groups";
        return false;
    }
    out.address = address;
    out.vendor = static_cast<uint16_t>(vendor);
    out.device = static_cast<uint16_t>(device);
    out.class_code = static_cast<uint32_t>(cls);
    out.driver = link_name(dir / "driver");
    out.model.clear();
    return true;
}

std::vector<model::ReservedRegion> read_reserved_regions(const std::string& sysfs, uint32_t group) {
    std::vector<model::ReservedRegion> out;
    std::ifstream in(fs::path(sysfs) / "kernel/iommu_groups" / std::to_string(group) /
                     "reserved_regions");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string start, last, type;
        if (!(ls >> start >> last >> type)) continue;
        try {
            out.push_back({std::stoull(start, nullptr, 16), std::stoull(last, nullptr, 16), type});
        } catch (const std::exception&) {
            continue;  // a line we do not understand narrows nothing
        }
    }
    return out;
}

int scan_sysfs(const std::string& sysfs, model::Topology& topo, std::vector<std::string>& notes) {
    std::error_code ec;
    int added = 0;
    std::vector<std::string> addresses;
    for (const auto& e : fs::directory_iterator(fs::path(sysfs) / "bus/pci/devices", ec))
        addresses.push_back(e.path().filename().string());
    std::sort(addresses.begin(), addresses.end());
    for (const std::string& a : addresses) {
        model::PciDevice d;
        std::string why;
        if (!read_pci_device(sysfs, a, d, why)) {
            notes.push_back(a + ": skipped, " + why);
            continue;
        }
        const uint32_t group = d.group;
        if (topo.add_device(std::move(d)) == 0) ++added;
        if (topo.group(group)->reserved.empty())
            topo.set_reserved(group, read_reserved_regions(sysfs, group));
    }
    return added;
}

bool read_devnum(const std::string& dev_file, dev_t& out) {
    std::ifstream in(dev_file);
    unsigned major_nr = 0, minor_nr = 0;
    char colon = 0;
    if (!(in >> major_nr >> colon >> minor_nr) || colon != ':') return false;
    out = makedev(major_nr, minor_nr);
    return true;
}

}  // namespace ioasid::host
