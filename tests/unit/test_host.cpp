// The topology as read from a fake sysfs tree and from topology files.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "host/sysfs.h"
#include "host/topology_file.h"

using namespace ioasid;
namespace fs = std::filesystem;

namespace {

struct FakeSysfs {
    fs::path root;
    FakeSysfs() {
        char tmpl[] = "/tmp/ioasid-sysfs-XXXXXX";
        root = mkdtemp(tmpl);
        fs::create_directories(root / "bus/pci/drivers");
    }
    ~FakeSysfs() { fs::remove_all(root); }
    void write(const fs::path& p, const std::string& text) {
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    void device(const std::string& addr, const char* vendor, const char* device, const char* cls,
                int group, const char* driver) {
        fs::path d = root / "bus/pci/devices" / addr;
        write(d / "vendor", std::string(vendor) + "\n");
        write(d / "device", std::string(device) + "\n");
        write(d / "class", std::string(cls) + "\n");
        fs::create_directories(root / "kernel/iommu_groups" / std::to_string(group) / "devices");
        if (group >= 0)
            fs::create_directory_symlink("../../../kernel/iommu_groups/" + std::to_string(group),
                                         d / "iommu_group");
        if (driver) bind(addr, driver);
    }
    void bind(const std::string& addr, const char* driver) {
        fs::path link = root / "bus/pci/devices" / addr / "driver";
        fs::remove(link);
        fs::create_directory_symlink(std::string("../../../bus/pci/drivers/") + driver, link);
    }
};

}  // namespace

TEST_CASE("sysfs: devices, drivers, groups and reserved regions", "[host]") {
    FakeSysfs s;
    s.device("0000:00:01.0", "0x8086", "0x29c0", "0x060000", 0, nullptr);
    s.device("0000:00:03.0", "0x1234", "0x11e8", "0x00ff00", 3, "vfio-pci");
    s.device("0000:01:00.0", "0x8086", "0x10d3", "0x020000", 4, "e1000e");
    s.device("0000:01:00.1", "0x8086", "0x10d3", "0x020000", 4, nullptr);
    s.device("0000:02:00.0", "0x8086", "0x10d3", "0x020000", -1, nullptr);  // no IOMMU
    s.write(s.root / "kernel/iommu_groups/3/reserved_regions",
            "0x00000000fee00000 0x00000000feefffff msi\n0x0000000000000000 0x0000000000000fff "
            "direct-relaxable\n");

    model::Topology topo;
    std::vector<std::string> notes;
    CHECK(host::scan_sysfs(s.root, topo, notes) == 4);
    REQUIRE(notes.size() == 1);
    CHECK(notes[0] == "0000:02:00.0: skipped, no IOMMU group");
    const model::PciDevice* edu = topo.device("0000:00:03.0");
    REQUIRE(edu);
    CHECK(edu->vendor == 0x1234);
    CHECK(edu->device == 0x11e8);
    CHECK(edu->class_code == 0x00ff00);
    CHECK(edu->driver == "vfio-pci");
    CHECK(edu->group == 3);
    CHECK_FALSE(edu->emulated());
    REQUIRE(topo.group(3)->reserved.size() == 2);
    CHECK(topo.group(3)->reserved[0].start == 0xfee00000);
    CHECK(topo.group(3)->reserved[0].type == "msi");
    CHECK(topo.viable(3));
    CHECK(topo.viable(0));
    CHECK_FALSE(topo.viable(4));  // e1000e on one function

    // The sibling is unbound (a uevent re-reads the device): viable again.
    fs::remove(s.root / "bus/pci/devices/0000:01:00.0/driver");
    model::PciDevice d;
    std::string why;
    REQUIRE(host::read_pci_device(s.root, "0000:01:00.0", d, why));
    CHECK(topo.set_driver(d.address, d.driver) == 1);
    CHECK(topo.viable(4));
}

TEST_CASE("topology file: groups, models and stand-in host devices", "[host]") {
    model::Topology topo;
    std::string err;
    REQUIRE(host::load_topology_json(host::default_topology_json(), topo, err));
    CHECK(topo.groups().size() == 2);
    const model::PciDevice* edu = topo.device("fffe:00:00.0");
    REQUIRE(edu);
    CHECK(edu->model == "edu");
    CHECK(edu->group == 1000);
    CHECK(topo.group(1000)->aperture_last == (1ull << 39) - 1);
    CHECK(topo.group(1001)->devices.size() == 2);
    CHECK(topo.device("fffe:00:01.1")->bar_size == 16384);
    CHECK(topo.viable(1000));

    const char* mixed = R"({"groups": [{"id": 7, "devices": [
        {"address": "0000:05:00.0", "model": "membar"},
        {"address": "0000:05:00.1", "vendor": "0x8086", "device": 4307, "driver": "e1000e"}]}]})";
    REQUIRE(host::load_topology_json(mixed, topo, err));
    CHECK_FALSE(topo.viable(7));
    CHECK(topo.device("0000:05:00.1")->device == 4307);

    // All or nothing, with the entry named.
    const size_t before = topo.devices().size();
    CHECK_FALSE(
        host::load_topology_json(R"({"groups": [{"devices": [{"address": "a", "model": "edu"}]},
        {"devices": [{"address": "b", "model": "gpu"}]}]})",
                                 topo, err));
    CHECK(err == "group #1: unknown model 'gpu' (known: edu, membar)");
    CHECK(topo.devices().size() == before);
    CHECK_FALSE(host::load_topology_json(
        R"({"groups": [{"id": 7, "devices": [{"address": "c"}]}]})", topo, err));
    CHECK(err == "group #0: group 7 already exists");
    CHECK_FALSE(host::load_topology_json("{nope", topo, err));
    CHECK_FALSE(
        host::load_topology_json(R"({"groups": [{"devices": [{"address": "d", "model": "membar",
        "bar_size": 1000}]}]})",
                                 topo, err));
    CHECK(err == "group #0: bar_size must be a power of two from 4 KiB to 1 GiB");
}
