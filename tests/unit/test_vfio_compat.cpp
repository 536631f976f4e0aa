// iommufd's VFIO container compatibility on /dev/ioasid (vfio_compat.c).
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

#include <set>

#include "dispatch/trace_fields.h"

TEST_CASE("vfio compat: its commands are named, counted apart, and decoded", "[compat]") {
    std::set<int> indexes;
    for (uint32_t cmd :
         {VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
          VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA, IOMMU_TEST_CMD, IOMMU_IOAS_MAP}) {
        INFO(cmd);
        CHECK(dispatch::iommufd_command_name(cmd) != nullptr);
        const int i = dispatch::iommufd_command_index(cmd);
        CHECK(i >= 0);
        CHECK(i < dispatch::kIommufdCommandCount);
        indexes.insert(i);
    }
    CHECK(indexes.size() == 8);
    CHECK(dispatch::iommufd_command_name(VFIO_IOMMU_UNMAP_DMA) ==
          std::string("VFIO_IOMMU_UNMAP_DMA"));
    CHECK(dispatch::iommufd_command_index(_IO(VFIO_TYPE, VFIO_BASE + 50)) == -1);

    vfio_iommu_type1_dma_map m{32, VFIO_DMA_MAP_FLAG_READ, 0x7f00, 0x100000, 0x2000};
    const auto* p = reinterpret_cast<const uint8_t*>(&m);
    const auto fields = dispatch::decode_arguments(dispatch::NodeKind::Iommufd, VFIO_IOMMU_MAP_DMA,
                                                   {p, sizeof(m)}, {p, sizeof(m)}, true);
    REQUIRE(fields.size() == 4);
    CHECK(std::string(fields[1].name) == "vaddr");
    CHECK(fields[1].value == 0x7f00);
}
