// The legacy group API's rules in the model, against drivers/vfio/group.c
// and container.c at Linux 6.12.
#include <catch2/catch.hpp>
#include <cerrno>

#include "ioasid/vfio.h"
#include "model/binding.h"
#include "model/vfio_group.h"

using namespace ioasid::model;

namespace {

PciDevice dev(const char* addr, uint32_t group, const char* driver = "") {
    PciDevice d;
    d.address = addr;
    d.group = group;
    d.model = *driver ? "" : "edu";
    d.driver = driver;
    return d;
}

struct Fixture {
    Topology topo;
    Context container, other, iommufd;
    Fixture() {
        topo.add_device(dev("0000:00:03.0", 1));
        topo.add_device(dev("0000:01:00.0", 2));
        topo.add_device(dev("0000:01:00.1", 2));
        container.vfio_container().on = true;
        other.vfio_container().on = true;
    }
    uint32_t status(uint32_t group) {
        uint32_t flags = ~0u;
        REQUIRE(group_status(topo, group, flags) == 0);
        return flags;
    }
};

constexpr uint32_t kViable = VFIO_GROUP_FLAGS_VIABLE;
constexpr uint32_t kSet = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;

}  // namespace

TEST_CASE("a group file is open once, and never beside its devices' cdevs", "[vfio-group]") {
    Fixture f;
    CHECK(group_open(f.topo, 9, 1) == -ENODEV);
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    CHECK(group_open(f.topo, 1, 2) == -EBUSY);
    CHECK(group_block_cdev(f.topo, 1) == -EBUSY);
    group_close(nullptr, f.topo, 1);
    REQUIRE(group_block_cdev(f.topo, 1) == 0);
    CHECK(group_open(f.topo, 1, 3) == -EBUSY);
    group_unblock_cdev(f.topo, 1);
    CHECK(group_open(f.topo, 1, 3) == 0);
}

TEST_CASE("GET_STATUS: viable unless claimed, and always once set", "[vfio-group]") {
    Fixture f;
    CHECK(f.status(2) == kViable);
    uint32_t id;
    REQUIRE(bind_device(f.iommufd, f.topo, "0000:01:00.1", id) == 0);  // a cdev user
    CHECK(f.status(2) == 0);
    unbind_device(f.iommufd, f.topo, id);
    REQUIRE(group_open(f.topo, 2, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 2) == 0);
    CHECK(f.status(2) == kSet);
    Topology t;
    t.add_device(dev("0000:02:00.0", 5, "e1000e"));
    uint32_t flags = ~0u;
    CHECK(group_status(t, 5, flags) == 0);
    CHECK(flags == 0);
}

TEST_CASE("SET_CONTAINER claims the group for a container", "[vfio-group]") {
    Fixture f;
    REQUIRE(group_open(f.topo, 2, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 2) == 0);
    CHECK(group_set_container(f.other, f.topo, 2) == -EINVAL);  // a second container
    CHECK(f.topo.group(2)->owner == &f.container);
    uint32_t id;
    CHECK(bind_device(f.other, f.topo, "0000:01:00.0", id) == -EPERM);
    CHECK(f.container.vfio_container().groups == std::vector<uint32_t>{2});
    // A group another owns cannot be set to a container.
    REQUIRE(bind_device(f.iommufd, f.topo, "0000:00:03.0", id) == 0);
    CHECK(group_set_container(f.other, f.topo, 1) == -EPERM);
}

TEST_CASE("SET_IOMMU needs a group; devices need SET_IOMMU", "[vfio-group]") {
    Fixture f;
    CHECK(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == -EINVAL);  // no group
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 1) == 0);
    CHECK(group_use(f.topo, 1) == -EINVAL);  // GET_DEVICE_FD before SET_IOMMU
    CHECK(container_set_iommu(f.container, f.topo, 42) == -ENODEV);
    REQUIRE(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == 0);
    CHECK(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == -EINVAL);  // set already
    CHECK(group_use(f.topo, 1) == 0);
}

TEST_CASE("SET_IOMMU gives the IOAS the groups' domains and reserved regions", "[vfio-group]") {
    Fixture f;
    f.topo.set_reserved(1, {{0xfee00000, 0xfeefffff, "msi"}});
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 1) == 0);
    REQUIRE(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == 0);
    const Ioas* ioas = f.container.ioas(f.container.vfio_ioas());
    REQUIRE(ioas != nullptr);
    CHECK(ioas->domains() == 1);
    CHECK(ioas->usable_ranges().size() == 2);  // the MSI window is cut out
    // A group set after SET_IOMMU joins at once; leaving takes its domain.
    REQUIRE(group_open(f.topo, 2, 2) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 2) == 0);
    CHECK(ioas->domains() == 2);
    REQUIRE(group_unset_container(&f.container, f.topo, 2) == 0);
    CHECK(ioas->domains() == 1);
}

TEST_CASE("UNSET_CONTAINER while a device is open is EBUSY; the last group unsets the IOMMU",
          "[vfio-group]") {
    Fixture f;
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 1) == 0);
    REQUIRE(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == 0);
    REQUIRE(group_use(f.topo, 1) == 0);
    CHECK(group_unset_container(&f.container, f.topo, 1) == -EBUSY);
    group_unuse(&f.container, f.topo, 1);
    REQUIRE(group_unset_container(&f.container, f.topo, 1) == 0);
    CHECK(group_unset_container(nullptr, f.topo, 1) == -EINVAL);  // nothing to unset
    CHECK(f.container.vfio_container().iommu_type == 0);
    CHECK(f.container.vfio_ioas() == 0);
    CHECK(f.topo.group(1)->owner == nullptr);
}

TEST_CASE("closing the group with a device open keeps it until the device closes", "[vfio-group]") {
    Fixture f;
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    REQUIRE(group_set_container(f.container, f.topo, 1) == 0);
    REQUIRE(container_set_iommu(f.container, f.topo, VFIO_TYPE1v2_IOMMU) == 0);
    REQUIRE(group_use(f.topo, 1) == 0);
    group_close(&f.container, f.topo, 1);
    CHECK(group_open(f.topo, 1, 2) == -EBUSY);  // the device holds the group file
    CHECK(f.status(1) == kSet);
    group_unuse(&f.container, f.topo, 1);
    CHECK(f.status(1) == kViable);
    CHECK(f.topo.group(1)->owner == nullptr);
    CHECK(group_open(f.topo, 1, 2) == 0);
}

TEST_CASE("an iommufd set as the container claims nothing until a device binds", "[vfio-group]") {
    Fixture f;
    REQUIRE(group_open(f.topo, 2, 1) == 0);
    REQUIRE(group_set_container(f.iommufd, f.topo, 2) == 0);
    CHECK(f.iommufd.vfio_ioas() != 0);  // iommufd_vfio_compat_ioas_create()
    CHECK(f.topo.group(2)->owner == nullptr);
    CHECK(f.status(2) == kSet);
    CHECK(group_use(f.topo, 2) == 0);  // no SET_IOMMU needed
    REQUIRE(group_unset_container(&f.iommufd, f.topo, 2) == 0);
    CHECK(f.status(2) == kViable);
}

TEST_CASE("a group whose devices went away answers ENODEV while its file lives", "[vfio-group]") {
    Fixture f;
    REQUIRE(group_open(f.topo, 1, 1) == 0);
    f.topo.remove_device("0000:00:03.0");
    REQUIRE(f.topo.group(1) != nullptr);  // held by the file
    uint32_t flags;
    CHECK(group_status(f.topo, 1, flags) == -ENODEV);
    CHECK(group_set_container(f.container, f.topo, 1) == -ENODEV);
    group_close(nullptr, f.topo, 1);
    CHECK(f.topo.group(1) == nullptr);
}
