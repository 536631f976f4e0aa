// IOMMU_TEST_CMD (ioasidd --test-ops), HWPT_INVALIDATE, mock devices and
// pinning, errno for errno with the kernel's selftest.c and hw_pagetable.c.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "dispatch/iommufd.h"
#include "dispatch/iommufd_selftest.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "model/binding.h"
#include "unit/test_ops_fixture.h"

using namespace ioasid;
using test::MockFixture;
using Fixture = test::TestOpsFixture;

TEST_CASE("test ops: ENOTTY without --test-ops, before the size is read", "[test-ops]") {
    model::Context ctx;
    test::FakeMemory mem;
    dispatch::Caller caller;
    CHECK(dispatch::iommufd_ioctl(ctx, IOMMU_TEST_CMD, 0, mem, caller) == -ENOTTY);
    CHECK(dispatch::iommufd_command_name(IOMMU_TEST_CMD) == std::string("TEST_CMD"));
}

TEST_CASE("test ops: the struct's size rules, and ops not served", "[test-ops]") {
    Fixture f;
    iommu_test_cmd c{};
    c.size = offsetof(iommu_test_cmd, last) + 3;
    c.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
    CHECK(f.call(IOMMU_TEST_CMD, c) == -EINVAL);
    c.op = 99;
    CHECK(f.test(c) == -EOPNOTSUPP);
}

TEST_CASE("test ops: ADD_RESERVED takes IOVAs from the IOAS", "[test-ops]") {
    Fixture f;
    const uint32_t ioas = f.alloc();
    iommu_test_cmd c{};
    c.op = IOMMU_TEST_OP_ADD_RESERVED;
    c.id = ioas;
    c.add_reserved = {0x10000, 0};
    CHECK(f.test(c) == -EINVAL);
    c.add_reserved = {~0ull, 2};
    CHECK(f.test(c) == -EOVERFLOW);
    c.id = 77;
    c.add_reserved = {0x10000, 0x1000};
    CHECK(f.test(c) == -ENOENT);
    c.id = ioas;
    REQUIRE(f.test(c) == 0);
    CHECK(f.map(ioas, 0x7f0000000000, 0x10000, 0x1000) == -EINVAL);  // iopt_check_iova()
    CHECK(f.map(ioas, 0x7f0000000000, 0x20000, 0x1000) == 0);
    c.add_reserved = {0x20000, 0x1000};
    CHECK(f.test(c) == -EADDRINUSE);  // over an area
    const auto ranges = f.ctx.ioas(ioas)->usable_ranges();
    REQUIRE(ranges.size() == 2);
    CHECK(ranges[0].last == 0xffff);
    CHECK(ranges[1].start == 0x11000);
}

TEST_CASE("test ops: SET_TEMP_MEMORY_LIMIT keeps one pfn's worth at least", "[test-ops]") {
    Fixture f;
    iommu_test_cmd c{};
    c.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT;
    c.memory_limit.limit = 11;
    CHECK(f.test(c) == -EINVAL);
    c.memory_limit.limit = 12;
    CHECK(f.test(c) == 0);
    CHECK(dispatch::test_memory_limit() == 12);
    c.memory_limit.limit = 65536;
    CHECK(f.test(c) == 0);
}

TEST_CASE("test ops: MD_CHECK_REFS counts the pins an IOAS with a domain holds", "[test-ops]") {
    Fixture f;
    const uint64_t buf = 0x7f0000100000;
    CHECK(f.check_refs(buf + 1, 0x1000, 0) == -EINVAL);
    CHECK(f.check_refs(buf, 0x1001, 0) == -EINVAL);
    CHECK(f.check_refs(~0xfffull, 0x2000, 0) == -EINVAL);
    const uint32_t a = f.alloc(), b = f.alloc();
    REQUIRE(f.map(a, buf, 0x100000, 0x2000) == 0);
    CHECK(f.check_refs(buf, 0x2000, 0) == 0);  // no domain: nothing pinned
    REQUIRE(f.ctx.ioas(a)->add_domain(model::domain_key(50), {}) == 0);
    CHECK(f.check_refs(buf, 0x2000, 1) == 0);
    CHECK(f.check_refs(buf, 0x3000, 1) == -EIO);  // the third page is not mapped
    REQUIRE(f.map(b, buf + 0x1000, 0x100000, 0x1000) == 0);
    REQUIRE(f.ctx.ioas(b)->add_domain(model::domain_key(51), {}) == 0);
    CHECK(f.check_refs(buf, 0x1000, 1) == 0);
    CHECK(f.check_refs(buf + 0x1000, 0x1000, 2) == 0);
    f.ctx.ioas(a)->remove_domain(model::domain_key(50));
    CHECK(f.check_refs(buf, 0x1000, 0) == 0);
}

TEST_CASE("HWPT_INVALIDATE: argument rules, then no nested HWPT to find", "[test-ops]") {
    Fixture f;
    iommu_hwpt_invalidate inv{sizeof(inv), 1, 0, 0, 0, 0, 1};
    CHECK(f.call(IOMMU_HWPT_INVALIDATE, inv) == -EOPNOTSUPP);
    inv = {sizeof(inv), 1, 0, 0, 8, 3, 0};
    CHECK(f.call(IOMMU_HWPT_INVALIDATE, inv) == -EINVAL);  // entries without a pointer
    inv = {sizeof(inv), 1, 0x1000, 0, 8192, 3, 0};
    CHECK(f.call(IOMMU_HWPT_INVALIDATE, inv) == -EINVAL);  // entries above a page
    inv = {sizeof(inv), f.alloc(), 0x1000, 0, 8, 3, 0};
    CHECK(f.call(IOMMU_HWPT_INVALIDATE, inv) == -ENOENT);  // an IOAS is no nested HWPT
    CHECK(inv.entry_num == 0);                             // written back with the error
}

TEST_CASE("mock domain: a device behind the mock IOMMU, attached to the IOAS", "[test-ops]") {
    MockFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    // The kernel's order: selftest object, device, automatic HWPT.
    CHECK(stdev == 2);
    CHECK(idev == 3);
    CHECK(hwpt == 4);
    // The mock domain's aperture and half-page IO pages reach the IOAS.
    const auto ranges = f.ctx.ioas(ioas)->usable_ranges();
    REQUIRE(ranges.size() == 1);
    CHECK(ranges[0].start == MOCK_APERTURE_START);
    CHECK(ranges[0].last == MOCK_APERTURE_LAST);
    CHECK(f.ctx.ioas(ioas)->iova_alignment() == 2048);
    // The device is held by its selftest object; DESTROY of that goes all the way.
    CHECK(f.destroy(idev) == -EBUSY);
    CHECK(f.destroy(hwpt) == -EBUSY);
    REQUIRE(f.destroy(stdev) == 0);
    CHECK(f.ctx.objects().find_any(hwpt) == nullptr);  // automatic: gone with its device
    CHECK(f.ctx.objects().find_any(idev) == nullptr);
    CHECK(f.topo.topo.devices().empty());
    CHECK(f.ctx.ioas(ioas)->usable_ranges()[0].start == 0);
}

TEST_CASE("mock domain: errors undo what was made", "[test-ops]") {
    MockFixture f;
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    CHECK(f.mock(99, stdev, hwpt, idev) == -ENOENT);
    CHECK(f.mock(0, stdev, hwpt, idev, 1u << 2, true) == -EINVAL);  // PASID: a later kernel's
    CHECK(f.ctx.objects().empty());
    CHECK(f.topo.topo.devices().empty());
    const uint32_t ioas = f.alloc();
    CHECK(ioas == 1);  // the ids the failures took are free again
    REQUIRE(f.mock(ioas, stdev, hwpt, idev, MOCK_FLAGS_DEVICE_NO_DIRTY, true) == 0);
    iommu_hw_info info{sizeof(info), 0, idev, 8, 0, 0, 0, {}, 0};
    test::FakeMemory& mem = f.mem;
    const iommu_test_hw_info junk{7, 7};
    info.data_uptr = mem.put(junk);
    REQUIRE(f.call(IOMMU_GET_HW_INFO, info) == 0);
    CHECK(info.out_data_type == IOMMU_HW_INFO_TYPE_SELFTEST);
    CHECK(info.data_len == 8);
    CHECK(info.out_capabilities == 0);  // NO_DIRTY
    CHECK(mem.get<iommu_test_hw_info>(info.data_uptr).test_reg == IOMMU_HW_INFO_SELFTEST_REGVAL);
    CHECK(mem.get<iommu_test_hw_info>(info.data_uptr).flags == 0);
}

TEST_CASE("mock domain: replace, and domains of one IOMMU only", "[test-ops]") {
    MockFixture f;
    const uint32_t a = f.alloc(), b = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(a, stdev, hwpt, idev) == 0);
    iommu_test_cmd c{};
    c.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    c.id = stdev;
    c.mock_domain_replace.pt_id = b;
    REQUIRE(f.test(c) == 0);
    const uint32_t hwpt_b = c.mock_domain_replace.pt_id;
    CHECK(hwpt_b != hwpt);
    CHECK(f.ctx.objects().find_any(hwpt) == nullptr);  // the old automatic HWPT went
    c.id = idev;                                       // not a selftest object
    CHECK(f.test(c) == -ENOENT);
    // A HWPT of an emulated device's IOMMU takes no mock device.
    model::PciDevice edu;
    edu.address = "fffe:00:00.0";
    edu.model = "edu";
    edu.group = 7;
    f.topo.topo.add_device(edu);
    uint32_t edu_dev = 0, edu_pt = a;
    REQUIRE(model::bind_device(f.ctx, f.topo.topo, edu.address, edu_dev) == 0);
    REQUIRE(model::attach_device(f.ctx, f.topo.topo, edu_dev, edu_pt) == 0);
    c.id = stdev;
    c.mock_domain_replace.pt_id = edu_pt;
    CHECK(f.test(c) == -EINVAL);
    uint32_t s2 = 0, h2 = 0, i2 = 0;
    CHECK(f.mock(edu_pt, s2, h2, i2) == -EINVAL);
    CHECK(f.mock(a, s2, h2, i2) == 0);  // the IOAS: a mock domain of its own beside edu's
    CHECK(h2 != edu_pt);
}

TEST_CASE("mock domain: MD_CHECK_MAP follows the IOAS's areas", "[test-ops]") {
    MockFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    const uint64_t buf = 0x7f0000200000, iova = MOCK_APERTURE_START;
    REQUIRE(f.map(ioas, buf, iova, 0x2000) == 0);
    auto check = [&](uint32_t id, uint64_t at, uint64_t len, uint64_t uptr) {
        iommu_test_cmd c{};
        c.op = IOMMU_TEST_OP_MD_CHECK_MAP;
        c.id = id;
        c.check_map = {at, len, uptr};
        return f.test(c);
    };
    CHECK(check(hwpt, iova, 0x2000, buf) == 0);
    CHECK(check(hwpt, iova + 0x800, 0x800, buf + 0x800) == 0);
    CHECK(check(hwpt, iova, 0x2000, buf + 0x1000) == -EINVAL);  // other memory
    CHECK(check(hwpt, iova, 0x3000, buf) == -EINVAL);           // past the area
    CHECK(check(hwpt, iova + 0x100, 0x800, buf) == -EINVAL);    // not IO-page aligned
    CHECK(check(ioas, iova, 0x800, buf) == -ENOENT);            // not a HWPT
    CHECK(check(99, iova, 0x800, buf) == -ENOENT);
}

TEST_CASE("mock domain: MD_CHECK_REFS sees the mock domain's pins", "[test-ops]") {
    MockFixture f;
    const uint32_t ioas = f.alloc();
    const uint64_t buf = 0x7f0000300000;
    REQUIRE(f.map(ioas, buf, MOCK_APERTURE_START, 0x1000) == 0);
    CHECK(f.check_refs(buf, 0x1000, 0) == 0);
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    CHECK(f.check_refs(buf, 0x1000, 1) == 0);
    REQUIRE(f.destroy(stdev) == 0);
    CHECK(f.check_refs(buf, 0x1000, 0) == 0);
}

TEST_CASE("mock domain: a context's release takes its mock devices", "[test-ops]") {
    MockFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    CHECK(f.topo.topo.devices().size() == 2);
    dispatch::release_test_objects(f.ctx);
    CHECK(f.topo.topo.devices().empty());
    CHECK(f.topo.topo.groups().empty());
    f.ctx.objects().destroy_all();
    CHECK(f.ctx.objects().empty());
}

TEST_CASE("pinning: a MAP into an IOAS with a domain faults where the memory is not",
          "[test-ops]") {
    MockFixture f;
    const uint64_t buf = 0x7f0000700000, hole = buf + 0x2000;
    f.caller.pinnable = [&](uint64_t start, uint64_t len, bool write) {
        if (write && start == buf + 0x8000) return -EFAULT;  // a read-only page there
        return start <= hole && hole < start + len ? -EFAULT : 0;
    };
    const uint32_t ioas = f.alloc();
    const uint64_t iova = MOCK_APERTURE_START;
    REQUIRE(f.map(ioas, buf, iova, 0x4000) == 0);  // no domain: nothing is pinned yet
    uint64_t n = 0;
    REQUIRE(f.ctx.ioas(ioas)->unmap(iova, 0x4000, n) == 0);
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    CHECK(f.map(ioas, buf, iova, 0x4000) == -EFAULT);
    CHECK(f.ctx.ioas(ioas)->areas().first_intersecting(iova, iova + 0x3fff) == nullptr);
    CHECK(f.map(ioas, buf, iova, 0x2000) == 0);                    // before the hole
    CHECK(f.map(ioas, buf + 0x8000, iova + 0x2000, 0x1000) == 0);  // read only: fine
    iommu_ioas_map w{sizeof(w),
                     IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_FIXED_IOVA,
                     ioas,
                     0,
                     buf + 0x8000,
                     0x1000,
                     iova + 0x3000};
    CHECK(f.call(IOMMU_IOAS_MAP, w) == -EFAULT);  // ...but not for writing
}
