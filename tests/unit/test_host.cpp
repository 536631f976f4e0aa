// The topology as read from a fake sysfs tree and from topology files.
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <atomic>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include <cstring>

#include "host/eventfd_watcher.h"
#include "host/sysfs.h"
#include "host/topology_file.h"
#include "unit/temp_dir.h"

using namespace ioasid;
namespace fs = std::filesystem;

namespace {

struct FakeSysfs {
    test::TempDir dir{"sysfs"};
    const fs::path& root = dir.root;
    FakeSysfs() { fs::create_directories(root / "bus/pci/drivers"); }
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

TEST_CASE("sysfs: a dev file's device number", "[host]") {
    test::TempDir dir("devnum");
    const auto good = dir.root / "dev", bad = dir.root / "bad";
    std::ofstream(good) << "10:257\n";
    std::ofstream(bad) << "10-257\n";
    dev_t devnum = 0;
    REQUIRE(host::read_devnum(good, devnum));
    CHECK(major(devnum) == 10);
    CHECK(minor(devnum) == 257);
    CHECK_FALSE(host::read_devnum(bad, devnum));
    CHECK_FALSE(host::read_devnum(dir.root / "missing", devnum));
}

TEST_CASE("topology file: groups, models and stand-in host devices", "[host]") {
    model::Topology topo;
    std::string err;
    REQUIRE(host::load_topology_json(host::default_topology_json(), topo, err));
    CHECK(topo.groups().size() == 2);
    const model::PciDevice* edu = topo.device("fffe:00:00.0");
    REQUIRE(edu);
    CHECK(edu->model == "edu");
    CHECK(edu->group == model::kEmulatedGroupBase);
    CHECK(topo.group(model::kEmulatedGroupBase)->aperture_last == (1ull << 39) - 1);
    CHECK(topo.group(model::kEmulatedGroupBase + 1)->devices.size() == 2);
    CHECK(topo.device("fffe:00:01.1")->bar_size == 16384);
    CHECK(topo.viable(model::kEmulatedGroupBase));
    // An emulated group's number never lies where the kernel's may.
    CHECK_FALSE(host::load_topology_json(
        R"({"groups": [{"id": 12, "devices": [{"address": "e", "model": "edu"}]}]})", topo, err));
    CHECK(err ==
          "group #0: an emulated group's id must be at least 100000000 (the kernel's own "
          "ids lie below)");

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

// ---- uevents ----
#include "host/uevent.h"

namespace {

std::string kernel_message(const std::string& action, const std::string& addr,
                           const std::string& extra = "") {
    std::string devpath = "/devices/pci0000:00/0000:00:1c.0/" + addr;
    std::string m = action + "@" + devpath + '\0' + "ACTION=" + action + '\0' +
                    "DEVPATH=" + devpath + '\0' + "SUBSYSTEM=pci" + '\0' + extra +
                    "PCI_SLOT_NAME=" + addr + '\0' + "SEQNUM=4242" + '\0';
    return m;
}

}  // namespace

TEST_CASE("uevent: kernel messages parse, others do not", "[host][uevent]") {
    host::Uevent ev;
    REQUIRE(host::parse_uevent(kernel_message("bind", "0000:01:00.1", "DRIVER=e1000e\0"), ev));
    CHECK(ev.action == "bind");
    CHECK(ev.subsystem == "pci");
    CHECK(ev.address == "0000:01:00.1");
    std::string udev("libudev\0\xfe\xed\xca\xfe", 12);
    CHECK_FALSE(host::parse_uevent(udev, ev));
    CHECK_FALSE(host::parse_uevent(std::string("add@/devices/x"), ev));  // no terminator
    // Without PCI_SLOT_NAME the address is DEVPATH's last part.
    std::string m = std::string("unbind@/devices/p/0000:05:00.0") + '\0' + "ACTION=unbind" + '\0' +
                    "DEVPATH=/devices/p/0000:05:00.0" + '\0';
    REQUIRE(host::parse_uevent(m, ev));
    CHECK(ev.address == "0000:05:00.0");
}

TEST_CASE("uevent: bind, unbind, add and remove update viability", "[host][uevent]") {
    FakeSysfs s;
    s.device("0000:01:00.0", "0x8086", "0x10d3", "0x020000", 4, "vfio-pci");
    s.device("0000:01:00.1", "0x8086", "0x10d3", "0x020000", 4, nullptr);
    model::Topology topo;
    std::vector<std::string> notes;
    host::scan_sysfs(s.root, topo, notes);
    std::string error;
    REQUIRE(host::load_topology_json(
        R"({"groups": [{"join": true, "id": 4, "devices": [{"address": "fffe:00:09.0", "model": "membar"}]}]})",
        topo, error));
    REQUIRE(topo.viable(4));

    auto apply = [&](const std::string& action, const std::string& addr) {
        host::Uevent ev;
        REQUIRE(host::parse_uevent(kernel_message(action, addr), ev));
        host::TopologyChange c;
        bool changed = host::apply_uevent(s.root, ev, topo, c);
        return std::make_pair(changed, c);
    };
    // The driver is read back from sysfs: a bind to e1000e makes it not viable.
    s.bind("0000:01:00.1", "e1000e");
    auto [changed, c] = apply("bind", "0000:01:00.1");
    CHECK(changed);
    CHECK(c.group == 4);
    CHECK(c.lost_viability());
    CHECK(topo.blocking_devices(4) == 1);
    CHECK_FALSE(apply("bind", "0000:01:00.1").first);  // a repeated event changes nothing

    fs::remove(s.root / "bus/pci/devices/0000:01:00.1/driver");
    auto [changed2, c2] = apply("unbind", "0000:01:00.1");
    CHECK(changed2);
    CHECK(c2.now_viable);

    s.device("0000:01:00.2", "0x8086", "0x10d3", "0x020000", 4, "e1000e");
    auto [added, c3] = apply("add", "0000:01:00.2");
    CHECK(added);
    CHECK(c3.lost_viability());
    fs::remove_all(s.root / "bus/pci/devices/0000:01:00.2");
    auto [removed, c4] = apply("remove", "0000:01:00.2");
    CHECK(removed);
    CHECK(c4.now_viable);
    CHECK(topo.device("0000:01:00.2") == nullptr);

    // Host events never touch an emulated device.
    CHECK_FALSE(apply("remove", "fffe:00:09.0").first);
    CHECK(topo.device("fffe:00:09.0") != nullptr);
}

TEST_CASE("uevent: binds to and from vfio-pci are told apart from other driver changes",
          "[host][uevent]") {
    FakeSysfs s;
    s.device("0000:02:00.0", "0x1234", "0x11e8", "0x00ff00", 7, nullptr);
    model::Topology topo;
    std::vector<std::string> notes;
    host::scan_sysfs(s.root, topo, notes);
    auto apply = [&](const std::string& action) {
        host::Uevent ev;
        REQUIRE(host::parse_uevent(kernel_message(action, "0000:02:00.0"), ev));
        host::TopologyChange c;
        REQUIRE(host::apply_uevent(s.root, ev, topo, c));
        return c;
    };
    s.bind("0000:02:00.0", "vfio-pci");
    auto c = apply("bind");
    CHECK((!c.was_vfio && c.now_vfio && c.vfio_changed()));
    CHECK_FALSE(c.viability_changed());  // viable with no driver and with vfio-pci
    fs::remove(s.root / "bus/pci/devices/0000:02:00.0/driver");
    c = apply("unbind");
    CHECK((c.was_vfio && !c.now_vfio));
    s.bind("0000:02:00.0", "edu");
    c = apply("bind");
    CHECK_FALSE(c.vfio_changed());
    CHECK(c.lost_viability());
    s.bind("0000:02:00.0", "vfio-pci");  // (a driver switch without unbind, as resync sees it)
    c = apply("change");
    CHECK((c.now_vfio && c.viability_changed()));
    fs::remove_all(s.root / "bus/pci/devices/0000:02:00.0");
    c = apply("remove");
    CHECK((c.was_vfio && !c.now_vfio));
}

TEST_CASE("uevent: a resync after lost events finds every change", "[host][uevent]") {
    FakeSysfs s;
    s.device("0000:01:00.0", "0x8086", "0x10d3", "0x020000", 4, "vfio-pci");
    model::Topology topo;
    std::vector<std::string> notes;
    host::scan_sysfs(s.root, topo, notes);
    s.bind("0000:01:00.0", "e1000e");
    s.device("0000:02:00.0", "0x8086", "0x10d3", "0x020000", 5, nullptr);
    auto changes = host::resync_from_sysfs(s.root, topo);
    CHECK(changes.size() == 2);
    CHECK(topo.device("0000:01:00.0")->driver == "e1000e");
    CHECK(topo.device("0000:02:00.0") != nullptr);
    CHECK(host::resync_from_sysfs(s.root, topo).empty());
}

TEST_CASE("topology files: joining a host group", "[host]") {
    model::Topology topo;
    std::string error;
    CHECK_FALSE(host::load_topology_json(
        R"({"groups": [{"join": true, "id": 9, "devices": [{"address": "fffe:00:09.0", "model": "membar"}]}]})",
        topo, error));
    CHECK(error.find("no host group 9") != std::string::npos);
}

// ---- a client's shared memory mapped into the daemon ----
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "host/shared_view.h"

TEST_CASE("shared views: shared memory is shared, private memory is refused", "[host][view]") {
    const pid_t self = getpid();
    host::FileMappings files;
    std::string why;
    int fd = memfd_create("view-test", 0);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 1 << 20) == 0);
    auto* client =
        static_cast<uint8_t*>(mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    REQUIRE(client != MAP_FAILED);
    std::memset(client, 0x5a, 1 << 20);

    host::SharedView view;
    const auto addr = reinterpret_cast<uint64_t>(client) + 0x3000;
    REQUIRE(view.map(files, self, addr, 0x2000, true, why) == 0);
    REQUIRE(view.pieces().size() == 1);
    auto* local = reinterpret_cast<uint8_t*>(view.pieces()[0].local);
    CHECK(local != client + 0x3000);  // another mapping of the same pages
    local[5] = 0xa5;
    CHECK(client[0x3005] == 0xa5);
    CHECK(files.maps_reads == 1);

    // Again: the remembered VMA is checked, not read again.
    host::SharedView again;
    REQUIRE(again.map(files, self, addr, 0x1000, true, why) == 0);
    CHECK(files.maps_reads == 1);

    // The same addresses now map another file: noticed, read again.
    int other = memfd_create("view-test-2", 0);
    REQUIRE(ftruncate(other, 1 << 20) == 0);
    REQUIRE(mmap(client, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, other, 0) ==
            client);
    std::memset(client, 0x11, 1 << 20);
    host::SharedView moved;
    REQUIRE(moved.map(files, self, addr, 0x1000, true, why) == 0);
    CHECK(files.maps_reads == 2);
    reinterpret_cast<uint8_t*>(moved.pieces()[0].local)[0] = 0x22;
    CHECK(client[0x3000] == 0x22);

    // The same file at the same addresses, but from another offset: the
    // VMA's range and file are the same, its pages are not.
    std::memset(client, 0x33, 1 << 20);
    REQUIRE(mmap(client, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, other, 0x10000) ==
            client);
    host::SharedView shifted;
    REQUIRE(shifted.map(files, self, addr, 0x1000, true, why) == 0);
    CHECK(files.maps_reads == 3);
    reinterpret_cast<uint8_t*>(shifted.pieces()[0].local)[0] = 0x44;
    CHECK(client[0x3000] == 0x44);
    host::SharedView steady;
    REQUIRE(steady.map(files, self, addr, 0x1000, true, why) == 0);
    CHECK(files.maps_reads == 3);

    // The VMA split elsewhere: its map_files name is gone, so maps is read
    // again, and the view still reaches the client's pages.
    REQUIRE(mprotect(client + 0x8000, 0x1000, PROT_READ) == 0);
    host::SharedView split;
    REQUIRE(split.map(files, self, addr, 0x1000, true, why) == 0);
    CHECK(files.maps_reads == 4);
    reinterpret_cast<uint8_t*>(split.pieces()[0].local)[0] = 0x55;
    CHECK(client[0x3000] == 0x55);

    void* priv = mmap(nullptr, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    host::SharedView refused;
    CHECK(refused.map(files, self, reinterpret_cast<uint64_t>(priv), 0x2000, true, why) ==
          -EOPNOTSUPP);
    CHECK(why.find("private memory") != std::string::npos);
    host::SharedView hole;
    munmap(priv, 0x2000);
    CHECK(hole.map(files, self, reinterpret_cast<uint64_t>(priv), 0x2000, true, why) == -EFAULT);
    munmap(client, 1 << 20);
    close(fd);
    close(other);
}

TEST_CASE("shared views: a read-only copy of private memory, taken once", "[host][view]") {
    const pid_t self = getpid();
    auto* rom = static_cast<uint8_t*>(
        mmap(nullptr, 0x3000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(rom != MAP_FAILED);
    for (int i = 0; i < 0x3000; ++i) rom[i] = static_cast<uint8_t>(i * 13);
    host::FileMappings files;
    std::string why;
    host::SharedView shared;
    CHECK(shared.map(files, self, reinterpret_cast<uint64_t>(rom), 0x3000, false, why) ==
          -EOPNOTSUPP);
    host::SharedView copy;
    REQUIRE(copy.copy(self, reinterpret_cast<uint64_t>(rom) + 0x1000, 0x2000, why) == 0);
    REQUIRE(copy.pieces().size() == 1);
    CHECK(copy.pieces()[0].remote == reinterpret_cast<uint64_t>(rom) + 0x1000);
    CHECK(copy.pieces()[0].length == 0x2000);
    const auto* local = reinterpret_cast<const uint8_t*>(copy.pieces()[0].local);
    CHECK(std::memcmp(local, rom + 0x1000, 0x2000) == 0);
    // Where it differs from the kernel's pin: later writes stay the client's.
    rom[0x1000] ^= 0xff;
    CHECK(local[0] != rom[0x1000]);
    // A range that is not all mapped cannot be copied.
    REQUIRE(munmap(rom + 0x2000, 0x1000) == 0);
    host::SharedView hole;
    CHECK(hole.copy(self, reinterpret_cast<uint64_t>(rom), 0x3000, why) == -EFAULT);
    CHECK(hole.pieces().empty());
    munmap(rom, 0x2000);
}

TEST_CASE("shared views: no more access than the client's own mapping gives", "[host][view]") {
    const pid_t self = getpid();
    host::FileMappings files;
    std::string why;
    test::TempDir dir("view");
    const std::string path = dir.root / "file";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    REQUIRE(ftruncate(fd, 0x4000) == 0);
    close(fd);
    // A file the client may only read: a writable view of it would let a
    // device write where the client cannot (the daemon could open it so).
    fd = ::open(path.c_str(), O_RDONLY);
    void* ro = mmap(nullptr, 0x4000, PROT_READ, MAP_SHARED, fd, 0);
    REQUIRE(ro != MAP_FAILED);
    const auto addr = reinterpret_cast<uint64_t>(ro);
    host::SharedView writable;
    CHECK(writable.map(files, self, addr, 0x4000, true, why) == -EFAULT);
    CHECK(why.find("read-only memory") != std::string::npos);
    host::SharedView readable;
    CHECK(readable.map(files, self, addr, 0x4000, false, why) == 0);
    // Its file is mapped writable for nobody now, still refused.
    host::SharedView again;
    CHECK(again.map(files, self, addr, 0x4000, true, why) == -EFAULT);
    void* none = mmap(nullptr, 0x4000, PROT_NONE, MAP_SHARED, fd, 0);
    host::SharedView unreadable;
    CHECK(unreadable.map(files, self, reinterpret_cast<uint64_t>(none), 0x4000, false, why) ==
          -EFAULT);
    CHECK(why.find("unreadable memory") != std::string::npos);
    munmap(none, 0x4000);
    munmap(ro, 0x4000);
    close(fd);
}

TEST_CASE("shared views: a few processes' /proc entries are kept open, no more", "[host][view]") {
    // Children with shared memory of their own, each viewed in turn.
    host::FileMappings files;
    std::vector<pid_t> children;
    std::string why;
    void* mem = mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem != MAP_FAILED);
    std::memset(mem, 1, 0x1000);
    for (size_t i = 0; i < host::FileMappings::kProcs + 3; ++i) {
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            pause();
            _exit(0);
        }
        children.push_back(child);
        host::SharedView view;
        CHECK(view.map(files, child, reinterpret_cast<uint64_t>(mem), 0x1000, true, why) == 0);
        CHECK(files.processes() <= host::FileMappings::kProcs);
    }
    for (pid_t c : children) kill(c, SIGKILL);
    for (pid_t c : children) waitpid(c, nullptr, 0);
    munmap(mem, 0x1000);
}

TEST_CASE("eventfd watcher: a signal runs the callback; a dropped watch does not", "[host]") {
    std::atomic<int> fired{0};
    {
        host::EventfdWatcher watcher;
        const int efd = ::eventfd(0, EFD_CLOEXEC);
        REQUIRE(efd >= 0);
        std::shared_ptr<void> watch;
        REQUIRE(watcher.watch(
                    host::UniqueFd(::dup(efd)), [&] { fired++; }, watch) == 0);
        const uint64_t one = 1;
        REQUIRE(::write(efd, &one, 8) == 8);
        for (int i = 0; i < 500 && fired.load() == 0; i++) ::usleep(1000);
        CHECK(fired.load() == 1);
        // The count was consumed: the user's own read would block.
        pollfd p{efd, POLLIN, 0};
        CHECK(::poll(&p, 1, 0) == 0);
        // Dropped watches never fire again.
        watch.reset();
        std::shared_ptr<void> again;
        REQUIRE(watcher.watch(
                    host::UniqueFd(::dup(efd)), [&] { fired += 10; }, again) == 0);
        again.reset();
        REQUIRE(::write(efd, &one, 8) == 8);
        ::usleep(20000);
        CHECK(fired.load() == 1);
        ::close(efd);
    }  // joins
    CHECK(fired.load() == 1);
}
