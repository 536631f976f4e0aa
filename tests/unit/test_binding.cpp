// Group rules of device binding and attachment, against the kernel's
// choices in drivers/iommu/iommufd/device.c.
#include <catch2/catch.hpp>
#include <cerrno>
#include <map>

#include "model/binding.h"

using namespace ioasid::model;

namespace {

PciDevice dev(const char* addr, uint32_t group, const char* model = "membar",
              const char* driver = "") {
    PciDevice d;
    d.address = addr;
    d.group = group;
    d.model = model;
    d.driver = driver;
    d.vendor = 0x1234;
    d.device = 0x11e8;
    return d;
}

struct Fixture {
    Topology topo;
    Context a, b;
    Fixture() {
        topo.add_device(dev("0000:00:03.0", 1));
        topo.add_device(dev("0000:01:00.0", 2));
        topo.add_device(dev("0000:01:00.1", 2));
        topo.set_reserved(1, {{0xfee00000, 0xfeefffff, "msi"}});
    }
};

}  // namespace

TEST_CASE("viability follows the drivers of every device in the group", "[topology]") {
    Topology t;
    t.add_device(dev("0000:02:00.0", 5));
    t.add_device(dev("0000:02:00.1", 5, "", "e1000e"));
    CHECK_FALSE(t.viable(5));
    CHECK(t.blocking_devices(5) == 1);
    CHECK(t.set_driver("0000:02:00.1", "vfio-pci") == 1);
    CHECK(t.viable(5));
    CHECK(t.set_driver("0000:02:00.1", "") == 1);
    CHECK(t.viable(5));
    t.set_driver("0000:02:00.1", "pci-stub");
    CHECK(t.viable(5));
    t.set_driver("0000:02:00.1", "pcieport");
    CHECK_FALSE(t.viable(5));  // pcieport is tolerated on bridges only
    PciDevice bridge = dev("0000:00:1c.0", 6, "", "pcieport");
    bridge.class_code = 0x060400;
    t.add_device(bridge);
    CHECK(t.viable(6));
    CHECK(t.set_driver("nope", "x") == -ENOENT);
    CHECK(t.add_device(dev("0000:02:00.0", 7)) == -EEXIST);
}

TEST_CASE("one context owns a group; a non-viable group cannot be bound", "[binding]") {
    Fixture f;
    uint32_t d1 = 0, d2 = 0;
    REQUIRE(bind_device(f.a, f.topo, "0000:01:00.0", d1) == 0);
    CHECK(d1 == 1);
    CHECK(f.topo.group(2)->owner == &f.a);
    // The sibling from another context: the kernel's claim says EPERM.
    CHECK(bind_device(f.b, f.topo, "0000:01:00.1", d2) == -EPERM);
    // From the owner it is fine.
    REQUIRE(bind_device(f.a, f.topo, "0000:01:00.1", d2) == 0);
    CHECK(f.topo.group(2)->owner_count == 2);
    unbind_device(f.a, f.topo, d1);
    CHECK(f.topo.group(2)->owner == &f.a);
    unbind_device(f.a, f.topo, d2);
    CHECK(f.topo.group(2)->owner == nullptr);
    CHECK(bind_device(f.b, f.topo, "0000:01:00.1", d2) == 0);

    PciDevice nic = dev("0000:03:00.1", 9, "", "e1000e");
    f.topo.add_device(dev("0000:03:00.0", 9));
    f.topo.add_device(nic);
    CHECK(bind_device(f.a, f.topo, "0000:03:00.0", d1) == -EPERM);
    f.topo.set_driver("0000:03:00.1", "vfio-pci");
    CHECK(bind_device(f.a, f.topo, "0000:03:00.0", d1) == 0);
    CHECK(bind_device(f.a, f.topo, "0000:99:00.0", d1) == -ENODEV);
}

TEST_CASE("a hot reset names the devices it also resets as the kernel's cdev does", "[binding]") {
    // Three host devices behind one bridge: two in group 4, one in group 5.
    Topology t;
    t.add_device(dev("0000:05:00.0", 4, "", "vfio-pci"));
    t.add_device(dev("0000:05:01.0", 4, "", "vfio-pci"));
    t.add_device(dev("0000:05:02.0", 5, "", "vfio-pci"));
    Context a, b;
    uint32_t d = 0;
    REQUIRE(bind_device(a, t, "0000:05:00.0", d) == 0);
    CHECK(dependent_devid(a, t, "0000:05:00.0") == d);
    // Its sibling cannot be another's while the group is a's.
    CHECK(dependent_devid(a, t, "0000:05:01.0") == kDevidOwned);
    CHECK(dependent_devid(b, t, "0000:05:00.0") == kDevidNotOwned);
    CHECK(dependent_devid(a, t, "0000:05:02.0") == kDevidNotOwned);
    uint32_t e = 0;
    REQUIRE(bind_device(b, t, "0000:05:02.0", e) == 0);
    CHECK(dependent_devid(b, t, "0000:05:02.0") == e);
    CHECK(dependent_devid(a, t, "0000:05:02.0") == kDevidNotOwned);
    // Off vfio-pci (or unknown) a device is not in the reset's set at all.
    t.set_driver("0000:05:01.0", "");
    CHECK(dependent_devid(a, t, "0000:05:01.0") == kDevidNotOwned);
    CHECK(dependent_devid(a, t, "0000:09:00.0") == kDevidNotOwned);
    unbind_device(a, t, d);
    CHECK(dependent_devid(a, t, "0000:05:00.0") == kDevidNotOwned);
}

TEST_CASE("attaching to an IOAS creates or reuses an automatic HWPT", "[binding]") {
    Fixture f;
    uint32_t d = 0, ioas = f.a.alloc_ioas();
    REQUIRE(bind_device(f.a, f.topo, "0000:00:03.0", d) == 0);
    uint32_t pt = ioas;
    REQUIRE(attach_device(f.a, f.topo, d, pt) == 0);
    CHECK(pt != ioas);
    CHECK(f.a.objects().find(pt, ObjectType::HwptPaging));
    // The domain asks for 4 KiB alignment and the group's MSI window is reserved.
    Ioas& io = *f.a.ioas(ioas);
    CHECK(io.iova_alignment() == 4096);
    auto ranges = io.usable_ranges();
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].start == 0);
    CHECK(ranges[0].last == 0xfedfffff);
    CHECK(ranges[1].start == 0xfef00000);
    CHECK(ranges[1].last == (1ull << 48) - 1);
    // Neither the IOAS nor the HWPT nor the device can be destroyed now.
    CHECK(f.a.destroy(ioas) == -EBUSY);
    CHECK(f.a.destroy(pt) == -EBUSY);
    CHECK(f.a.destroy(d) == -EBUSY);
    // A mapping over the reserved window is refused (iopt_insert_area: EINVAL).
    uint64_t iova = 0xfee00000;
    CHECK(io.map(0x10000, 0x1000, kProtRead, true, 1, iova) == -EINVAL);

    // Detach: the automatic HWPT goes, the IOAS is plain again.
    detach_device(f.a, f.topo, d);
    CHECK_FALSE(f.a.objects().find_any(pt));
    CHECK(io.usable_ranges().size() == 1);
    CHECK(io.iova_alignment() == 1);
    CHECK(f.a.destroy(ioas) == 0);
}

TEST_CASE("devices of one group share one HWPT", "[binding]") {
    Fixture f;
    uint32_t d1 = 0, d2 = 0;
    uint32_t ioas1 = f.a.alloc_ioas(), ioas2 = f.a.alloc_ioas();
    REQUIRE(bind_device(f.a, f.topo, "0000:01:00.0", d1) == 0);
    REQUIRE(bind_device(f.a, f.topo, "0000:01:00.1", d2) == 0);
    uint32_t pt1 = ioas1, pt2 = ioas2;
    REQUIRE(attach_device(f.a, f.topo, d1, pt1) == 0);
    // The sibling to another IOAS: a new automatic HWPT would differ, EINVAL.
    CHECK(attach_device(f.a, f.topo, d2, pt2) == -EINVAL);
    CHECK(f.a.objects().size() == 5);  // the failed attach left nothing behind
    // To the same IOAS it finds the group's HWPT.
    pt2 = ioas1;
    REQUIRE(attach_device(f.a, f.topo, d2, pt2) == 0);
    CHECK(pt2 == pt1);
    // Re-attach replaces, for the whole group.
    uint32_t pt3 = ioas2;
    REQUIRE(attach_device(f.a, f.topo, d1, pt3) == 0);
    CHECK(pt3 != pt1);
    CHECK_FALSE(f.a.objects().find_any(pt1));  // the old automatic HWPT went
    CHECK(device_ioas(f.a, d2) == f.a.ioas(ioas2));
    unbind_device(f.a, f.topo, d1);
    unbind_device(f.a, f.topo, d2);
    CHECK_FALSE(f.a.objects().find_any(pt3));
    CHECK(f.topo.group(2)->owner == nullptr);
}

TEST_CASE("HWPT_ALLOC and attaching to a HWPT", "[binding]") {
    Fixture f;
    uint32_t d = 0, ioas = f.a.alloc_ioas(), hwpt = 0;
    REQUIRE(bind_device(f.a, f.topo, "0000:00:03.0", d) == 0);
    CHECK(alloc_hwpt(f.a, f.topo, 99, ioas, hwpt) == -ENOENT);
    CHECK(alloc_hwpt(f.a, f.topo, d, 99, hwpt) == -EINVAL);
    CHECK(alloc_hwpt(f.a, f.topo, d, d, hwpt) == -EINVAL);
    REQUIRE(alloc_hwpt(f.a, f.topo, d, ioas, hwpt) == 0);
    CHECK(alloc_hwpt(f.a, f.topo, d, hwpt, hwpt) == -EOPNOTSUPP);
    uint32_t pt = hwpt;
    REQUIRE(attach_device(f.a, f.topo, d, pt) == 0);
    CHECK(pt == hwpt);
    detach_device(f.a, f.topo, d);
    // A HWPT the user made stays after the detach, and holds its IOAS.
    REQUIRE(f.a.objects().find_any(hwpt));
    CHECK(f.a.destroy(ioas) == -EBUSY);
    CHECK(f.a.destroy(hwpt) == 0);
    CHECK(f.a.destroy(ioas) == 0);
    // A domain does not take an IOAS whose areas are not page aligned.
    ioas = f.a.alloc_ioas();
    uint64_t iova = 0x1000;
    REQUIRE(f.a.ioas(ioas)->map(0x10000, 0x800, kProtRead, true, 1, iova) == 0);
    CHECK(alloc_hwpt(f.a, f.topo, d, ioas, hwpt) == -EADDRINUSE);
    pt = ioas;
    CHECK(attach_device(f.a, f.topo, d, pt) == -EADDRINUSE);
    CHECK(f.a.objects().size() == 2);
}

TEST_CASE("a mapping in a device's reserved window keeps it from attaching", "[binding]") {
    Fixture f;
    uint32_t d = 0, ioas = f.a.alloc_ioas();
    uint64_t iova = 0xfee00000;
    REQUIRE(f.a.ioas(ioas)->map(0x10000, 0x1000, kProtRead, true, 1, iova) == 0);
    REQUIRE(bind_device(f.a, f.topo, "0000:00:03.0", d) == 0);
    uint32_t pt = ioas;
    CHECK(attach_device(f.a, f.topo, d, pt) == -EADDRINUSE);
    CHECK(f.a.objects().size() == 2);
    CHECK(f.a.attached_groups().empty());
}

// ---- forwarded groups: the container mirrors the attached IOAS ----
namespace {

// A container as the model sees it: what is mapped, and a way to fail.
struct FakeContainer : AreaMirror {
    std::map<uint64_t, uint64_t> mapped;  // iova -> length
    uint64_t fail_at = ~0ull;
    int map(const Area& a) override {
        if (a.start == fail_at) return -EOPNOTSUPP;
        if (!mapped.emplace(a.start, a.length()).second) return -EEXIST;
        return 0;
    }
    void unmap(const Area& a) override { mapped.erase(a.start); }
};

}  // namespace

TEST_CASE("mirrors see every area of the IOAS, and a failing one keeps nothing", "[ioas]") {
    Ioas ioas;
    FakeContainer c;
    uint64_t iova = 0x1000;
    REQUIRE(ioas.map(0x7f0000000000, 0x2000, kProtRead | kProtWrite, true, 1, iova) == 0);
    REQUIRE(ioas.add_mirror(group_key(5), c) == 0);
    CHECK(c.mapped == std::map<uint64_t, uint64_t>{{0x1000, 0x2000}});
    iova = 0x10000;
    REQUIRE(ioas.map(0x7f0000100000, 0x1000, kProtRead, true, 1, iova) == 0);
    CHECK(c.mapped.size() == 2);
    c.fail_at = 0x20000;
    iova = 0x20000;
    CHECK(ioas.map(0x7f0000200000, 0x1000, kProtRead, true, 1, iova) == -EOPNOTSUPP);
    CHECK(ioas.areas().first_intersecting(0x20000, 0x20000) == nullptr);  // not taken
    uint64_t unmapped = 0;
    REQUIRE(ioas.unmap(0x10000, 0x1000, unmapped) == 0);
    CHECK(c.mapped.size() == 1);
    ioas.remove_mirror(group_key(5));
    CHECK(c.mapped.empty());
    FakeContainer failing;
    failing.fail_at = 0x1000;
    CHECK(ioas.add_mirror(group_key(6), failing) == -EOPNOTSUPP);
    CHECK(ioas.mirrors() == 0);
}

TEST_CASE("a forwarded group's container follows attach, replace and detach", "[binding]") {
    Fixture f;
    FakeContainer c;
    f.topo.add_device(dev("0000:00:02.0", 7, "", "vfio-pci"));
    f.topo.group(7)->mirror = &c;
    uint32_t d = 0;
    REQUIRE(bind_device(f.a, f.topo, "0000:00:02.0", d) == 0);
    uint32_t ioas1 = f.a.alloc_ioas(), ioas2 = f.a.alloc_ioas();
    uint64_t iova = 0x100000;
    REQUIRE(f.a.ioas(ioas1)->map(0x7f0000000000, 0x1000, kProtRead, true, 1, iova) == 0);
    iova = 0x200000;
    REQUIRE(f.a.ioas(ioas2)->map(0x7f0000000000, 0x1000, kProtRead, true, 1, iova) == 0);
    uint32_t pt = ioas1;
    REQUIRE(attach_device(f.a, f.topo, d, pt) == 0);
    CHECK(c.mapped == std::map<uint64_t, uint64_t>{{0x100000, 0x1000}});
    pt = ioas2;
    REQUIRE(attach_device(f.a, f.topo, d, pt) == 0);  // replace: the container moves
    CHECK(c.mapped == std::map<uint64_t, uint64_t>{{0x200000, 0x1000}});
    c.fail_at = 0x100000;
    pt = ioas1;
    CHECK(attach_device(f.a, f.topo, d, pt) == -EOPNOTSUPP);  // and moves back
    CHECK(c.mapped == std::map<uint64_t, uint64_t>{{0x200000, 0x1000}});
    detach_device(f.a, f.topo, d);
    CHECK(c.mapped.empty());
}
