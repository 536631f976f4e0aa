// The legacy group API as the daemon serves it, without CUSE: /dev/ioasid's
// handler makes a container and a group, and a device node's open becomes
// the group's device file, with the kernel's answers along the way
// (drivers/vfio/group.c and container.c at 6.12).
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <memory>

#include "daemon/device_node.h"
#include "daemon/group_files.h"
#include "daemon/iommufd_handler.h"
#include "devices/models.h"
#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"
#include "unit/fake_memory.h"

using namespace ioasid;
using namespace ioasid::daemon;

namespace {

constexpr uint32_t kGroup = 1000;
constexpr char kAddress[] = "fffe:00:00.0";

dispatch::Caller me() {
    dispatch::Caller c;
    c.tid = static_cast<uint32_t>(::syscall(SYS_gettid));
    c.uid = ::getuid();
    c.tgid = [] { return static_cast<uint32_t>(::getpid()); };
    return c;
}

struct Fixture {
    model::SharedTopology shared;
    IommufdHandler iommufd{&shared};
    std::unique_ptr<DeviceNode> node;
    // The node is named "null": /dev/null is one every caller may open.
    GroupFiles groups{shared, iommufd, [this](const std::string& a, const GroupFiles::NodeFn& fn) {
                          return a == kAddress ? fn(*node, "null") : -ENODEV;
                      }};
    test::FakeMemory mem;

    Fixture() {
        model::PciDevice d;
        d.address = kAddress;
        d.model = "edu";
        d.group = kGroup;
        shared.topo.add_device(d);
        node = std::make_unique<DeviceNode>(kAddress, devices::make_device("edu", 0), shared,
                                            iommufd, makedev(240, 0));
        iommufd.groups = &groups;
    }
    ~Fixture() { node.reset(); }

    int ioasid(uint64_t fh, uint32_t cmd, uint64_t arg) {
        dispatch::Caller c = me();
        return iommufd.ioctl(fh, cmd, arg, mem, c);
    }
    int device(uint64_t fh, uint32_t cmd, uint64_t arg) {
        dispatch::Caller c = me();
        return node->ioctl(fh, cmd, arg, mem, c);
    }
    uint64_t open_ioasid() {
        uint64_t fh;
        REQUIRE(iommufd.open(me(), fh) == 0);
        return fh;
    }
    uint64_t cookie(uint64_t fh, bool of_device = false) {
        const uint64_t at = mem.put(uint64_t{0});
        REQUIRE((of_device ? device(fh, IOASIDD_FILE_COOKIE, at)
                           : ioasid(fh, IOASIDD_FILE_COOKIE, at)) == 0);
        return mem.get<uint64_t>(at);
    }
    uint32_t status(uint64_t group) {
        vfio_group_status st{};
        st.argsz = sizeof(st);
        const uint64_t at = mem.put(st);
        REQUIRE(ioasid(group, VFIO_GROUP_GET_STATUS, at) == 0);
        return mem.get<vfio_group_status>(at).flags;
    }
    int set_container(uint64_t group, uint64_t container) {
        return ioasid(group, IOASIDD_GROUP_SET_CONTAINER, mem.put(cookie(container)));
    }
    // GET_DEVICE_FD as the library makes it: find, open the node, open through the group.
    int get_device(uint64_t group, uint64_t& fh, const char* name = kAddress) {
        ioasidd_group_device gd{};
        gd.argsz = sizeof(gd);
        // A page of its own, as strnlen_user() reads up to a page's end.
        char page[4096] = {};
        std::strcpy(page, name);
        gd.name = mem.put_bytes(page, sizeof(page));
        const uint64_t at = mem.put(gd);
        if (int rc = ioasid(group, IOASIDD_GROUP_FIND_DEVICE, at)) return rc;
        CHECK(std::string(mem.get<ioasidd_group_device>(at).out_devname) == "null");
        if (int rc = node->open(me(), fh)) return rc;
        gd.cookie = cookie(fh, true);
        return ioasid(group, IOASIDD_GROUP_OPEN_DEVICE, mem.put(gd));
    }
};

}  // namespace

TEST_CASE("group files: QEMU 7.2's sequence, with the kernel's answers", "[group-files]") {
    Fixture f;
    const uint64_t container = f.open_ioasid(), group = f.open_ioasid();
    REQUIRE(f.ioasid(container, IOASIDD_VFIO_CONTAINER, 0) == 0);
    CHECK(f.ioasid(container, IOASIDD_NODE_KIND, 0) == IOASIDD_NODE_CONTAINER);
    CHECK(f.ioasid(container, VFIO_GET_API_VERSION, 0) == VFIO_API_VERSION);
    CHECK(f.ioasid(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);
    CHECK(f.ioasid(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == -EINVAL);  // no group yet

    CHECK(f.ioasid(group, IOASIDD_VFIO_GROUP, 42) == -ENODEV);
    REQUIRE(f.ioasid(group, IOASIDD_VFIO_GROUP, kGroup) == 0);
    CHECK(f.ioasid(group, IOASIDD_NODE_KIND, 0) == IOASIDD_NODE_GROUP);
    const uint64_t second = f.open_ioasid();
    CHECK(f.ioasid(second, IOASIDD_VFIO_GROUP, kGroup) == -EBUSY);
    CHECK(f.status(group) == VFIO_GROUP_FLAGS_VIABLE);

    // The plain command names an fd only the library can resolve.
    CHECK(f.ioasid(group, VFIO_GROUP_SET_CONTAINER, f.mem.put(int32_t{3})) == -ENOTTY);
    CHECK(f.ioasid(group, IOASIDD_GROUP_SET_CONTAINER, f.mem.put(uint64_t{12345})) == -EBADFD);
    REQUIRE(f.set_container(group, container) == 0);
    CHECK(f.set_container(group, container) == -EINVAL);
    CHECK(f.status(group) == (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET));

    uint64_t dev;
    CHECK(f.get_device(group, dev) == -EINVAL);  // before SET_IOMMU
    f.node->release(dev);
    CHECK(f.get_device(group, dev, "fffe:00:09.0") == -ENODEV);
    CHECK(f.get_device(group, dev, "fffe:00:00.0 vf_token=x") == -EINVAL);
    // A type1 command before SET_IOMMU is EINVAL, as with no IOMMU driver.
    vfio_iommu_type1_info info{};
    info.argsz = sizeof(info);
    CHECK(f.ioasid(container, VFIO_IOMMU_GET_INFO, f.mem.put(info)) == -EINVAL);
    REQUIRE(f.ioasid(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    CHECK(f.ioasid(container, VFIO_IOMMU_GET_INFO, f.mem.put(info)) == 0);

    REQUIRE(f.get_device(group, dev) == 0);
    vfio_device_info di{};
    di.argsz = sizeof(di);
    CHECK(f.device(dev, VFIO_DEVICE_GET_INFO, f.mem.put(di)) == 0);
    vfio_device_bind_iommufd bind{};
    bind.argsz = sizeof(bind);
    bind.iommufd = 3;
    CHECK(f.device(dev, VFIO_DEVICE_BIND_IOMMUFD, f.mem.put(bind)) == -EINVAL);
    vfio_device_detach_iommufd_pt detach{};
    detach.argsz = sizeof(detach);
    CHECK(f.device(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, f.mem.put(detach)) == -ENOTTY);
    // Another cdev open of the device while the group is open.
    uint64_t cdev;
    CHECK(f.node->open(me(), cdev) == -EBUSY);

    CHECK(f.ioasid(group, VFIO_GROUP_UNSET_CONTAINER, 0) == -EBUSY);
    f.node->release(dev);
    CHECK(f.ioasid(group, VFIO_GROUP_UNSET_CONTAINER, 0) == 0);
    CHECK(f.ioasid(group, VFIO_GROUP_UNSET_CONTAINER, 0) == -EINVAL);
    f.iommufd.release(group);
    REQUIRE(f.node->open(me(), cdev) == 0);  // the group is closed: the cdev opens
    CHECK(f.ioasid(second, IOASIDD_VFIO_GROUP, kGroup) == -EBUSY);
    f.node->release(cdev);
    CHECK(f.ioasid(second, IOASIDD_VFIO_GROUP, kGroup) == 0);
    f.iommufd.release(second);
    f.iommufd.release(container);
}

TEST_CASE("group files: closing the group with its device open", "[group-files]") {
    Fixture f;
    const uint64_t container = f.open_ioasid(), group = f.open_ioasid();
    REQUIRE(f.ioasid(container, IOASIDD_VFIO_CONTAINER, 0) == 0);
    REQUIRE(f.ioasid(group, IOASIDD_VFIO_GROUP, kGroup) == 0);
    REQUIRE(f.set_container(group, container) == 0);
    REQUIRE(f.ioasid(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    uint64_t dev;
    REQUIRE(f.get_device(group, dev) == 0);
    f.iommufd.release(group);
    f.iommufd.release(container);
    // The device still works, and holds the group: no one else opens it.
    vfio_device_info di{};
    di.argsz = sizeof(di);
    CHECK(f.device(dev, VFIO_DEVICE_GET_INFO, f.mem.put(di)) == 0);
    const uint64_t again = f.open_ioasid();
    CHECK(f.ioasid(again, IOASIDD_VFIO_GROUP, kGroup) == -EBUSY);
    f.node->release(dev);
    CHECK(f.ioasid(again, IOASIDD_VFIO_GROUP, kGroup) == 0);
    CHECK(f.status(again) == VFIO_GROUP_FLAGS_VIABLE);
    f.iommufd.release(again);
}

TEST_CASE("group files: a file in use becomes neither container nor group", "[group-files]") {
    Fixture f;
    const uint64_t used = f.open_ioasid();
    iommu_ioas_alloc alloc{};
    alloc.size = sizeof(alloc);
    REQUIRE(f.ioasid(used, IOMMU_IOAS_ALLOC, f.mem.put(alloc)) == 0);
    CHECK(f.ioasid(used, IOASIDD_VFIO_CONTAINER, 0) == -EINVAL);
    CHECK(f.ioasid(used, IOASIDD_VFIO_GROUP, kGroup) == -EINVAL);
    const uint64_t container = f.open_ioasid();
    REQUIRE(f.ioasid(container, IOASIDD_VFIO_CONTAINER, 0) == 0);
    CHECK(f.ioasid(container, IOASIDD_VFIO_GROUP, kGroup) == -EINVAL);
    CHECK(f.ioasid(container, IOMMU_IOAS_ALLOC, f.mem.put(alloc)) == -EINVAL);  // no IOMMU yet
    // An iommufd (not a container) may be set too, as the kernel takes one.
    const uint64_t group = f.open_ioasid();
    REQUIRE(f.ioasid(group, IOASIDD_VFIO_GROUP, kGroup) == 0);
    REQUIRE(f.set_container(group, used) == 0);
    uint64_t dev;
    REQUIRE(f.get_device(group, dev) == 0);  // no SET_IOMMU on an iommufd
    f.node->release(dev);
    f.iommufd.release(group);
    f.iommufd.release(container);
    f.iommufd.release(used);
}
