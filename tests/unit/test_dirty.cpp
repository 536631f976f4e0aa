// Dirty tracking on the mock IOMMU: HWPT_ALLOC's flags, SET_DIRTY_TRACKING,
// GET_DIRTY_BITMAP and the selftest's DIRTY op, huge IO pages included.
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
    f.caller.tgid = [] { return 42u; };  // the process whose memory is asked about
    f.caller.contiguous = [&](uint32_t pid, uint64_t va, uint64_t len) {
        return pid == 42 && va == buf && len == mib;
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
