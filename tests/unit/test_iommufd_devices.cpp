// /dev/ioasid's commands about bound devices: HWPT_ALLOC, GET_HW_INFO and
// ioasidd's GROUP_STATUS, through the ioctl decoder.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "dispatch/iommufd.h"
#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "model/binding.h"
#include "unit/fake_memory.h"

using namespace ioasid;

namespace {

struct World {
    model::SharedTopology shared;
    model::Context a, b;
    test::FakeMemory mem;
    dispatch::Caller caller;
    uint32_t dev = 0;

    World() {
        a.set_topology(&shared);
        b.set_topology(&shared);
        for (const char* addr : {"0000:00:02.0", "0000:00:02.1"}) {
            model::PciDevice d;
            d.address = addr;
            d.driver = "vfio-pci";
            d.group = 7;
            shared.topo.add_device(d);
        }
        REQUIRE(model::bind_device(a, shared.topo, "0000:00:02.0", dev) == 0);
    }
    template <typename T>
    int call(model::Context& ctx, uint32_t cmd, T& s) {
        uint64_t at = mem.put(s);
        int rc = dispatch::iommufd_ioctl(ctx, cmd, at, mem, caller);
        s = mem.get<T>(at);
        return rc;
    }
    uint32_t ioas(model::Context& ctx) {
        iommu_ioas_alloc al{sizeof(al), 0, 0};
        REQUIRE(call(ctx, IOMMU_IOAS_ALLOC, al) == 0);
        return al.out_ioas_id;
    }
    int status(model::Context& ctx, uint32_t flags, uint32_t id, ioasidd_group_status& st) {
        st = {sizeof(st), flags, id, 0, 0, 0, 0, 0};
        return call(ctx, IOASIDD_GROUP_STATUS, st);
    }
};

}  // namespace

TEST_CASE("HWPT_ALLOC through the decoder follows iommufd_hwpt_alloc()", "[iommufd-devices]") {
    World w;
    uint32_t ioas = w.ioas(w.a);
    iommu_hwpt_alloc h{};
    h.size = sizeof(h);
    h.dev_id = w.dev;
    h.pt_id = ioas;
    SECTION("a paging HWPT over the IOAS") {
        REQUIRE(w.call(w.a, IOMMU_HWPT_ALLOC, h) == 0);
        CHECK(h.out_hwpt_id == ioas + 1);
        iommu_destroy d{sizeof(d), ioas};
        CHECK(w.call(w.a, IOMMU_DESTROY, d) == -EBUSY);  // the HWPT holds it
    }
    SECTION("the kernel's order of checks") {
        h.__reserved = 1;
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -EOPNOTSUPP);
        h.__reserved = 0;
        h.data_len = 8;  // DATA_NONE with a length
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -EINVAL);
        h.data_len = 0;
        h.dev_id = 99;
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -ENOENT);
        h.dev_id = w.dev;
        h.pt_id = 99;
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -EINVAL);
        h.pt_id = ioas;
        h.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;  // the emulated IOMMU has no flags
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -EOPNOTSUPP);
        h.flags = 0;
        h.size = 16;  // shorter than __reserved's end
        CHECK(w.call(w.a, IOMMU_HWPT_ALLOC, h) == -EINVAL);
    }
    SECTION("a context without the device") {
        h.pt_id = w.ioas(w.b);
        CHECK(w.call(w.b, IOMMU_HWPT_ALLOC, h) == -ENOENT);
    }
}

TEST_CASE("GET_HW_INFO answers TYPE_NONE and zeroes the data buffer", "[iommufd-devices]") {
    World w;
    uint64_t data = w.mem.put_bytes("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    iommu_hw_info hi{};
    hi.size = sizeof(hi);
    hi.dev_id = w.dev;
    hi.data_len = 8;
    hi.data_uptr = data;
    hi.out_data_type = 77;
    hi.out_capabilities = 5;
    REQUIRE(w.call(w.a, IOMMU_GET_HW_INFO, hi) == 0);
    CHECK(hi.out_data_type == IOMMU_HW_INFO_TYPE_NONE);
    CHECK(hi.data_len == 0);
    CHECK(hi.out_capabilities == 0);
    uint64_t after;
    std::memcpy(&after, w.mem.region(data).data(), 8);
    CHECK(after == 0);

    hi.__reserved[1] = 1;
    CHECK(w.call(w.a, IOMMU_GET_HW_INFO, hi) == -EOPNOTSUPP);
    hi.__reserved[1] = 0;
    hi.dev_id = 42;
    CHECK(w.call(w.a, IOMMU_GET_HW_INFO, hi) == -ENOENT);
}

TEST_CASE("NODE_KIND names an iommufd file, with no argument read", "[iommufd-devices]") {
    World w;
    CHECK(dispatch::iommufd_ioctl(w.a, IOASIDD_NODE_KIND, 0, w.mem, w.caller) ==
          IOASIDD_NODE_IOMMUFD);
    const dispatch::Footprint fp = dispatch::iommufd_footprint(w.a, IOASIDD_NODE_KIND, 0, w.mem);
    CHECK(fp.in.empty());
    CHECK(fp.out.empty());
}

TEST_CASE("GROUP_STATUS tells viability and ownership", "[iommufd-devices]") {
    World w;
    ioasidd_group_status st;
    REQUIRE(w.status(w.a, 0, 7, st) == 0);
    CHECK(st.out_group == 7);
    CHECK(st.out_flags == (IOASIDD_GROUP_VIABLE | IOASIDD_GROUP_OWNED));
    CHECK(st.out_num_devices == 2);
    CHECK(st.out_num_blocking == 0);

    REQUIRE(w.status(w.b, 0, 7, st) == 0);
    CHECK(st.out_flags == (IOASIDD_GROUP_VIABLE | IOASIDD_GROUP_OWNED_ELSEWHERE));

    REQUIRE(w.status(w.a, IOASIDD_GROUP_BY_DEVID, w.dev, st) == 0);
    CHECK(st.out_group == 7);
    CHECK(w.status(w.b, IOASIDD_GROUP_BY_DEVID, w.dev, st) == -ENOENT);
    CHECK(w.status(w.a, 0, 8, st) == -ENOENT);
    CHECK(w.status(w.a, 2, 7, st) == -EINVAL);

    model::unbind_device(w.a, w.shared.topo, w.dev);
    w.shared.topo.set_driver("0000:00:02.1", "e1000e");
    REQUIRE(w.status(w.b, 0, 7, st) == 0);
    CHECK(st.out_flags == 0);
    CHECK(st.out_num_blocking == 1);

    st = {sizeof(st) - 4, 0, 7, 0, 0, 0, 0, 0};
    CHECK(w.call(w.a, IOASIDD_GROUP_STATUS, st) == -EINVAL);
}
