// A reason for every refusal (model/refusal.h): the check that refuses a
// call names itself, the first reason of a call is kept, and a new call
// starts with none.
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "device_fixture.h"
#include "dispatch/vfio_device.h"
#include "fake_memory.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"
#include "model/vfio_group.h"

using namespace ioasid;

namespace {

std::string why() {
    return refusal() ? refusal() : "";
}

}  // namespace

TEST_CASE("refuse() returns the errno and keeps the call's first reason", "[refusal]") {
    clear_refusal();
    CHECK(refusal() == nullptr);
    CHECK(refuse(-EINVAL, "inner check") == -EINVAL);
    CHECK(refuse(-EPERM, "outer check") == -EPERM);
    CHECK(why() == "inner check");
    clear_refusal();
    CHECK(refusal() == nullptr);
}

TEST_CASE("the group API's refusals say which rule refused", "[refusal]") {
    model::Topology topo;
    model::PciDevice d;
    d.address = "0000:00:03.0";
    d.group = 1;
    topo.add_device(d);
    model::Context container;
    container.vfio_container().on = true;
    clear_refusal();
    REQUIRE(model::group_open(topo, 1, 1) == 0);
    CHECK(model::group_open(topo, 1, 2) == -EBUSY);
    CHECK(why() == "open group: it is open already");
    clear_refusal();
    CHECK(model::group_block_cdev(topo, 1) == -EBUSY);
    CHECK(why() == "open: the device's group is open (/dev/vfio/N)");
    clear_refusal();
    CHECK(model::container_set_iommu(container, topo, VFIO_TYPE1v2_IOMMU) == -EINVAL);
    CHECK(why() == "SET_IOMMU: no group is set to the container");
}

TEST_CASE("a device command's refusal names its check", "[refusal]") {
    test::Backend be;
    test::FakeMemory mem;
    clear_refusal();
    vfio_device_info info{sizeof(info), 0, 0, 0, 0, 0};
    CHECK(dispatch::vfio_device_ioctl(be, VFIO_DEVICE_GET_INFO, mem.put(info), mem) == -EINVAL);
    CHECK(why() == "not bound yet: only BIND_IOMMUFD comes first");
    clear_refusal();
    vfio_device_bind_iommufd bind{sizeof(bind), 0, test::kIommufd, 0};
    REQUIRE(dispatch::vfio_device_ioctl(be, VFIO_DEVICE_BIND_IOMMUFD, mem.put(bind), mem) == 0);
    CHECK(refusal() == nullptr);
    vfio_irq_info irq{sizeof(irq), 0, 9, 0};
    CHECK(dispatch::vfio_device_ioctl(be, VFIO_DEVICE_GET_IRQ_INFO, mem.put(irq), mem) == -EINVAL);
    CHECK(why() == "GET_IRQ_INFO: no such index");
}
