// IOMMU_TEST_CMD (ioasidd --test-ops) and HWPT_INVALIDATE, errno for errno
// with the kernel's selftest.c and hw_pagetable.c.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "dispatch/iommufd.h"
#include "dispatch/iommufd_test.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "unit/dispatch_fixture.h"

using namespace ioasid;

namespace {

struct Fixture : test::DispatchFixture {
    Fixture() { ctx.enable_test_ops(); }
    int test(iommu_test_cmd& c) {
        c.size = sizeof(c);
        return call(IOMMU_TEST_CMD, c);
    }
    int map(uint32_t ioas, uint64_t user_va, uint64_t iova, uint64_t len) {
        iommu_ioas_map m{
            sizeof(m), IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, user_va, len,
            iova};
        return call(IOMMU_IOAS_MAP, m);
    }
    int check_refs(uint64_t uptr, uint64_t length, uint32_t refs) {
        iommu_test_cmd c{};
        c.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        c.check_refs.uptr = uptr;
        c.check_refs.length = length;
        c.check_refs.refs = refs;
        return test(c);
    }
};

}  // namespace

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

// ---- mock domains ----
#include "model/binding.h"
#include "model/topology.h"

namespace {

struct MockFixture : Fixture {
    model::SharedTopology topo;
    MockFixture() { ctx.set_topology(&topo); }
    // MOCK_DOMAIN on pt_id: {stdev, hwpt, idev}, or the errno in `rc`.
    int mock(uint32_t pt_id, uint32_t& stdev, uint32_t& hwpt, uint32_t& idev, uint32_t flags = 0,
             bool with_flags = false) {
        iommu_test_cmd c{};
        c.op = with_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN;
        c.id = pt_id;
        c.mock_domain_flags.dev_flags = flags;
        int rc = test(c);
        stdev = c.mock_domain.out_stdev_id;
        hwpt = c.mock_domain.out_hwpt_id;
        idev = c.mock_domain.out_idev_id;
        return rc;
    }
    int destroy(uint32_t id) {
        iommu_destroy d{sizeof(d), id};
        return call(IOMMU_DESTROY, d);
    }
};

}  // namespace

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

// ---- dirty tracking ----

namespace {

struct DirtyFixture : MockFixture {
    uint32_t ioas = 0, stdev = 0, hwpt = 0, idev = 0, dirty_hwpt = 0;
    const uint64_t iova = MOCK_APERTURE_START;
    DirtyFixture() {
        ioas = alloc();
        REQUIRE(mock(ioas, stdev, hwpt, idev) == 0);
        REQUIRE(alloc_hwpt(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dirty_hwpt) == 0);
        REQUIRE(map(ioas, 0x7f0000400000, iova, 0x4000) == 0);  // 8 IO pages
    }
    int alloc_hwpt(uint32_t flags, uint32_t& out, uint32_t dev = 0) {
        iommu_hwpt_alloc a{sizeof(a), flags, dev ? dev : idev, ioas, 0, 0, 0, 0, 0, 0, 0};
        int rc = call(IOMMU_HWPT_ALLOC, a);
        out = a.out_hwpt_id;
        return rc;
    }
    int track(uint32_t id, uint32_t flags) {
        iommu_hwpt_set_dirty_tracking t{sizeof(t), flags, id, 0};
        return call(IOMMU_HWPT_SET_DIRTY_TRACKING, t);
    }
    // The device writes the IO pages whose bits are set; out: how many mapped.
    int write(uint32_t id, uint8_t pages, uint64_t& nr) {
        iommu_test_cmd c{};
        c.op = IOMMU_TEST_OP_DIRTY;
        c.id = id;
        c.dirty.iova = iova;
        c.dirty.length = 8 * 2048;
        c.dirty.page_size = 2048;
        c.dirty.uptr = mem.put(pages);
        int rc = test(c);
        nr = c.dirty.out_nr_dirty;
        return rc;
    }
    int read(uint32_t id, uint32_t flags, uint8_t& bits, uint64_t page = 2048) {
        const uint8_t zero = 0;
        const uint64_t at = mem.put(zero);
        iommu_hwpt_get_dirty_bitmap g{sizeof(g), id, flags, 0, iova, 8 * page, page, at};
        int rc = call(IOMMU_HWPT_GET_DIRTY_BITMAP, g);
        bits = mem.get<uint8_t>(at);
        return rc;
    }
};

}  // namespace

TEST_CASE("dirty: HWPT_ALLOC's flags on the mock IOMMU and no other", "[test-ops]") {
    DirtyFixture f;
    uint32_t out = 0;
    CHECK(f.alloc_hwpt(IOMMU_HWPT_ALLOC_NEST_PARENT, out) == 0);
    CHECK(f.alloc_hwpt(IOMMU_HWPT_FAULT_ID_VALID, out) == -EOPNOTSUPP);
    CHECK(f.alloc_hwpt(1u << 7, out) == -EOPNOTSUPP);
    uint32_t s2 = 0, h2 = 0, no_dirty = 0;
    REQUIRE(f.mock(f.ioas, s2, h2, no_dirty, MOCK_FLAGS_DEVICE_NO_DIRTY, true) == 0);
    CHECK(h2 != f.dirty_hwpt);
    CHECK(f.alloc_hwpt(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, out, no_dirty) == -EOPNOTSUPP);
    // The mock driver refuses a dirty-tracking domain to a device that cannot track.
    iommu_test_cmd c{};
    c.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE;
    c.id = s2;
    c.mock_domain_replace.pt_id = f.dirty_hwpt;
    CHECK(f.test(c) == -EINVAL);
    uint32_t s3 = 0, h3 = 0, i3 = 0;
    CHECK(f.mock(f.dirty_hwpt, s3, h3, i3, MOCK_FLAGS_DEVICE_NO_DIRTY, true) == -EINVAL);
    CHECK(f.mock(f.dirty_hwpt, s3, h3, i3) == 0);
}

TEST_CASE("dirty: tracking on, the device writes, the bitmap reads and clears", "[test-ops]") {
    DirtyFixture f;
    uint64_t nr = 0;
    uint8_t bits = 0;
    CHECK(f.track(f.dirty_hwpt, 2) == -EOPNOTSUPP);
    CHECK(f.track(99, 1) == -ENOENT);
    CHECK(f.track(f.hwpt, 1) == -EOPNOTSUPP);  // allocated without dirty tracking
    CHECK(f.read(f.hwpt, 0, bits) == -EOPNOTSUPP);
    CHECK(f.write(f.dirty_hwpt, 0xff, nr) == -EINVAL);  // tracking is off
    REQUIRE(f.track(f.dirty_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE) == 0);
    REQUIRE(f.write(f.dirty_hwpt, 0b10100101, nr) == 0);
    CHECK(nr == 4);
    REQUIRE(f.read(f.dirty_hwpt, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, bits) == 0);
    CHECK(bits == 0b10100101);
    REQUIRE(f.read(f.dirty_hwpt, 0, bits) == 0);
    CHECK(bits == 0b10100101);
    REQUIRE(f.read(f.dirty_hwpt, 0, bits) == 0);
    CHECK(bits == 0);  // cleared by the read before
    // A 4 KiB page is dirty when either of its IO pages is.
    REQUIRE(f.write(f.dirty_hwpt, 0b00000010, nr) == 0);
    REQUIRE(f.read(f.dirty_hwpt, 0, bits, 4096) == 0);
    CHECK(bits == 0b00000001);
    // Turning tracking on again forgets what was dirty.
    REQUIRE(f.write(f.dirty_hwpt, 0b1, nr) == 0);
    REQUIRE(f.track(f.dirty_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE) == 0);
    REQUIRE(f.read(f.dirty_hwpt, 0, bits) == 0);
    CHECK(bits == 0);
}

TEST_CASE("dirty: bits die with their mapping; the range rules", "[test-ops]") {
    DirtyFixture f;
    uint64_t nr = 0;
    uint8_t bits = 0;
    REQUIRE(f.track(f.dirty_hwpt, IOMMU_HWPT_DIRTY_TRACKING_ENABLE) == 0);
    REQUIRE(f.write(f.dirty_hwpt, 0xff, nr) == 0);
    iommu_ioas_unmap um{sizeof(um), f.ioas, f.iova, 0x4000};
    REQUIRE(f.call(IOMMU_IOAS_UNMAP, um) == 0);
    REQUIRE(f.map(f.ioas, 0x7f0000400000, f.iova, 0x4000) == 0);
    REQUIRE(f.read(f.dirty_hwpt, 0, bits) == 0);
    CHECK(bits == 0);
    REQUIRE(f.write(f.dirty_hwpt, 0xff, nr) == 0);
    um.length = 0x2000;
    REQUIRE(f.call(IOMMU_IOAS_UNMAP, um) == -ENOENT);  // whole areas only
    CHECK(nr == 8);

    iommu_hwpt_get_dirty_bitmap g{sizeof(g), f.dirty_hwpt, 0, 0, f.iova, 0, 2048, 0x1000};
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);  // no length
    g.length = 0x1000;
    g.iova = f.iova + 0x100;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);  // not IOAS-aligned
    g.iova = f.iova;
    g.page_size = 0;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);
    g.page_size = 0x2000;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EINVAL);  // length not in pages
    g.iova = ~0ull - 0x7ff;
    g.length = 0x1000;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EOVERFLOW);
    g.__reserved = 1;
    CHECK(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == -EOPNOTSUPP);
}

// ---- VFIO container compatibility ----
#include "ioasid/vfio.h"

namespace {

struct CompatFixture : MockFixture {
    int raw(uint32_t cmd, uint64_t arg) {
        return dispatch::iommufd_ioctl(ctx, cmd, arg, mem, caller);
    }
    void set_compat(uint32_t ioas) {
        iommu_vfio_ioas v{sizeof(v), ioas, IOMMU_VFIO_IOAS_SET, 0};
        REQUIRE(call(IOMMU_VFIO_IOAS, v) == 0);
    }
    int map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, uint32_t argsz = 32) {
        vfio_iommu_type1_dma_map m{argsz, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, vaddr,
                                   iova, size};
        return call(VFIO_IOMMU_MAP_DMA, m);
    }
    int unmap_dma(uint64_t iova, uint64_t size, uint64_t& unmapped, uint32_t flags = 0) {
        vfio_iommu_type1_dma_unmap u{sizeof(u), flags, iova, size};
        int rc = call(VFIO_IOMMU_UNMAP_DMA, u);
        unmapped = u.size;
        return rc;
    }
};

}  // namespace

TEST_CASE("vfio compat: without a compat IOAS, ENODEV after the argument checks", "[compat]") {
    CompatFixture f;
    CHECK(f.raw(VFIO_GET_API_VERSION, 0) == VFIO_API_VERSION);
    CHECK(f.raw(VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);
    CHECK(f.raw(VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU) == 0);
    CHECK(f.raw(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU) == -ENODEV);
    CHECK(f.raw(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == -ENODEV);
    CHECK(f.raw(VFIO_SET_IOMMU, 7) == -EINVAL);
    CHECK(f.map_dma(0x7f0000000000, MOCK_APERTURE_START, 0x1000, 1) == -EINVAL);
    CHECK(f.map_dma(0x7f0000000000, MOCK_APERTURE_START, 0x1000) == -ENODEV);
    uint64_t n = 0;
    CHECK(f.unmap_dma(0, 0x1000, n, 1u << 31) == -EINVAL);
    CHECK(f.unmap_dma(0, 0x1000, n) == -ENODEV);
    vfio_iommu_type1_info info{1, 0, 0, 0, 0};
    CHECK(f.call(VFIO_IOMMU_GET_INFO, info) == -EINVAL);
    info.argsz = sizeof(info);
    CHECK(f.call(VFIO_IOMMU_GET_INFO, info) == -ENODEV);
    CHECK(f.raw(VFIO_IOMMU_MAP_DMA, 0) == -EFAULT);
    CHECK(f.raw(_IO(VFIO_TYPE, VFIO_BASE + 50), 0) == -ENOTTY);
}

TEST_CASE("vfio compat: map and unmap on the compat IOAS (TYPE1v2)", "[compat]") {
    CompatFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    f.set_compat(ioas);
    REQUIRE(f.raw(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
    CHECK(f.raw(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU) == 0);  // a HWPT without enforced CC
    const uint64_t buf = 0x7f0000500000, iova = MOCK_APERTURE_START;
    REQUIRE(f.map_dma(buf, iova, 0x4000) == 0);
    CHECK(f.ctx.ioas(ioas)->huge_pages());
    uint64_t n = 0;
    CHECK(f.unmap_dma(iova + 0x1000, 0x1000, n) == -ENOENT);  // v2: no splitting
    REQUIRE(f.unmap_dma(iova, 0x4000, n) == 0);
    CHECK(n == 0x4000);
    REQUIRE(f.unmap_dma(iova, 0x4000, n) == 0);  // nothing there: success
    CHECK(n == 0);
    REQUIRE(f.map_dma(buf, iova, 0x4000) == 0);
    CHECK(f.unmap_dma(iova, 0x4000, n, VFIO_DMA_UNMAP_FLAG_ALL) == -EINVAL);
    REQUIRE(f.unmap_dma(0, 0, n, VFIO_DMA_UNMAP_FLAG_ALL) == 0);
    CHECK(n == 0x4000);
}

TEST_CASE("vfio compat: TYPE1 turns huge pages off and unmaps inside mappings", "[compat]") {
    CompatFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    f.set_compat(ioas);
    const uint64_t buf = 0x7f0000600000, iova = MOCK_APERTURE_START;
    REQUIRE(f.map_dma(buf, iova, 0x4000) == 0);
    CHECK(f.raw(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == -EINVAL);  // pages already in a domain
    uint64_t n = 0;
    REQUIRE(f.unmap_dma(0, 0, n, VFIO_DMA_UNMAP_FLAG_ALL) == 0);
    REQUIRE(f.raw(VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) == 0);
    CHECK_FALSE(f.ctx.ioas(ioas)->huge_pages());
    REQUIRE(f.map_dma(buf, iova, 0x4000) == 0);
    REQUIRE(f.unmap_dma(iova + 0x1000, 0x1000, n) == 0);
    CHECK(n == 0x1000);
    std::vector<model::Segment> segs;
    CHECK(f.ctx.ioas(ioas)->get_segments(iova + 0x2000, 0x2000, segs) == 0);
    REQUIRE(segs.size() == 1);
    CHECK(segs[0].user_va == buf + 0x2000);
    CHECK(f.ctx.ioas(ioas)->get_segments(iova + 0x1000, 0x1000, segs) == -ENOENT);
}

TEST_CASE("vfio compat: GET_INFO's page sizes and its caps chain as argsz allows", "[compat]") {
    CompatFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev) == 0);
    f.set_compat(ioas);
    struct Buffer {
        vfio_iommu_type1_info info;
        uint8_t caps[64];
    } b{};
    std::memset(&b, 0xaa, sizeof(b));
    b.info.argsz = 16;  // before caps existed
    uint64_t at = f.mem.put(b);
    REQUIRE(f.raw(VFIO_IOMMU_GET_INFO, at) == 0);
    b = f.mem.get<Buffer>(at);
    CHECK(b.info.flags == (VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS));
    CHECK(b.info.iova_pgsizes == 4096);      // the mock's 2 KiB IO pages, raised to PAGE_SIZE
    CHECK(b.info.argsz == 72);               // struct 24, DMA_AVAIL 16, one IOVA range 32
    CHECK(b.info.cap_offset == 0xaaaaaaaa);  // not written: argsz 16 stops short of it
    b.info.argsz = 72;
    at = f.mem.put(b);
    REQUIRE(f.raw(VFIO_IOMMU_GET_INFO, at) == 0);
    b = f.mem.get<Buffer>(at);
    CHECK(b.info.cap_offset == 24);
    vfio_info_cap_header avail;
    std::memcpy(&avail, b.caps, sizeof(avail));
    CHECK(avail.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
    CHECK(avail.next == 40);
    vfio_iommu_type1_info_cap_iova_range ranges;
    std::memcpy(&ranges, b.caps + 16, sizeof(ranges));
    CHECK(ranges.header.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
    CHECK(ranges.header.next == 0);
    CHECK(ranges.nr_iovas == 1);
    vfio_iova_range r;
    std::memcpy(&r, b.caps + 32, sizeof(r));
    CHECK(r.start == MOCK_APERTURE_START);
    CHECK(r.end == MOCK_APERTURE_LAST);
    CHECK(b.caps[48] == 0xaa);  // nothing past argsz
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

TEST_CASE("dirty: a huge IO page is dirty whole, where the mock maps one", "[test-ops]") {
    MockFixture f;
    const uint32_t ioas = f.alloc();
    uint32_t stdev = 0, hwpt = 0, idev = 0;
    REQUIRE(f.mock(ioas, stdev, hwpt, idev, MOCK_FLAGS_DEVICE_HUGE_IOVA, true) == 0);
    iommu_hwpt_alloc a{sizeof(a), IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, 0, 0, 0, 0, 0, 0};
    REQUIRE(f.call(IOMMU_HWPT_ALLOC, a) == 0);
    const uint32_t dirty_hwpt = a.out_hwpt_id;
    iommu_hwpt_set_dirty_tracking t{sizeof(t), IOMMU_HWPT_DIRTY_TRACKING_ENABLE, dirty_hwpt, 0};
    REQUIRE(f.call(IOMMU_HWPT_SET_DIRTY_TRACKING, t) == 0);
    // Two 1 MiB blocks; the memory behind the first is contiguous.
    const uint64_t buf = 0x7f0000000000, iova = MOCK_APERTURE_START, mib = 1 << 20;
    f.caller.contiguous = [&](uint32_t, uint64_t va, uint64_t len) {
        return va == buf && len == mib;
    };
    REQUIRE(f.map(ioas, buf, iova, 2 * mib) == 0);
    // The device writes one IO page in each block.
    std::vector<uint8_t> pages(2 * mib / 2048 / 8);
    pages[0] = 0b10;              // IO page 1 of the first block
    pages[mib / 2048 / 8] = 0b1;  // IO page 0 of the second
    iommu_test_cmd c{};
    c.op = IOMMU_TEST_OP_DIRTY;
    c.id = dirty_hwpt;
    c.dirty.iova = iova;
    c.dirty.length = 2 * mib;
    c.dirty.page_size = 2048;
    c.dirty.uptr = f.mem.put_bytes(pages.data(), pages.size());
    REQUIRE(f.test(c) == 0);
    CHECK(c.dirty.out_nr_dirty == 2);
    std::vector<uint8_t> zero(pages.size());
    const uint64_t at = f.mem.put_bytes(zero.data(), zero.size());
    iommu_hwpt_get_dirty_bitmap g{sizeof(g), dirty_hwpt, 0, 0, iova, 2 * mib, 2048, at};
    REQUIRE(f.call(IOMMU_HWPT_GET_DIRTY_BITMAP, g) == 0);
    const std::vector<uint8_t>& bits = f.mem.region(at);
    size_t set = 0;
    for (size_t i = 0; i < mib / 2048 / 8; ++i) set += bits[i] == 0xff;
    CHECK(set == mib / 2048 / 8);        // the whole huge page
    CHECK(bits[mib / 2048 / 8] == 0b1);  // one IO page of the other
    CHECK(bits[mib / 2048 / 8 + 1] == 0);
}

TEST_CASE("vfio compat: GET_INFO's footprint reaches past the minimum only when it writes",
          "[compat]") {
    // Found by the fuzzer: a huge argsz with no compat IOAS is ENODEV after
    // reading 16 bytes; asking the retry protocol for argsz bytes faulted.
    CompatFixture f;
    vfio_iommu_type1_info info{0x8a8e, 0, 0, 0, 0};
    const uint64_t at = f.mem.put(info);
    dispatch::Footprint fp = dispatch::iommufd_footprint(f.ctx, VFIO_IOMMU_GET_INFO, at, f.mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == 16);
    CHECK(fp.out.empty());
    CHECK(f.raw(VFIO_IOMMU_GET_INFO, at) == -ENODEV);
    const uint32_t ioas = f.alloc();
    f.set_compat(ioas);
    fp = dispatch::iommufd_footprint(f.ctx, VFIO_IOMMU_GET_INFO, at, f.mem);
    CHECK(fp.in[0].len == 0x8a8e);
    CHECK(fp.out.size() == 1);
}
