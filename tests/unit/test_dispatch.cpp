// The argument rules of the iommufd ioctls, errno for errno.
#include <linux/capability.h>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "dispatch/iommufd.h"
#include "ioasid/iommufd.h"
#include "unit/dispatch_fixture.h"

using namespace ioasid;

namespace {

struct Fixture : test::DispatchFixture {
    int map(uint32_t ioas, uint64_t iova, uint64_t len, uint32_t flags, uint64_t* out = nullptr) {
        iommu_ioas_map m{sizeof(m), flags, ioas, 0, 0x7f0000000000, len, iova};
        int rc = call(IOMMU_IOAS_MAP, m);
        if (out) *out = m.iova;
        return rc;
    }
};

constexpr uint32_t kRW = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
constexpr uint32_t kFixedRW = kRW | IOMMU_IOAS_MAP_FIXED_IOVA;

}  // namespace

TEST_CASE("object ids start at 1 and the lowest free id is reused", "[dispatch]") {
    Fixture f;
    CHECK(f.alloc() == 1);
    CHECK(f.alloc() == 2);
    CHECK(f.alloc() == 3);
    iommu_destroy d{sizeof(d), 2};
    REQUIRE(f.call(IOMMU_DESTROY, d) == 0);
    CHECK(f.call(IOMMU_DESTROY, d) == -ENOENT);
    CHECK(f.alloc() == 2);
    CHECK(f.alloc() == 4);
    d.id = 0;
    CHECK(f.call(IOMMU_DESTROY, d) == -ENOENT);
}

TEST_CASE("size below the last required field is EINVAL", "[dispatch]") {
    Fixture f;
    iommu_ioas_map m{};
    m.size = offsetof(iommu_ioas_map, iova);
    CHECK(f.call(IOMMU_IOAS_MAP, m) == -EINVAL);
    iommu_ioas_alloc a{offsetof(iommu_ioas_alloc, out_ioas_id), 0, 0};
    CHECK(f.call(IOMMU_IOAS_ALLOC, a) == -EINVAL);
}

TEST_CASE("a larger size needs a zero tail", "[dispatch]") {
    Fixture f;
    struct {
        iommu_ioas_alloc a;
        uint32_t tail[3];
    } big{{sizeof(big), 0, 0}, {0, 0, 0}};
    REQUIRE(f.call(IOMMU_IOAS_ALLOC, big) == 0);
    CHECK(big.a.out_ioas_id == 1);
    CHECK(big.tail[0] == 0);  // the kernel writes back only its own struct
    big.tail[2] = 1;
    CHECK(f.call(IOMMU_IOAS_ALLOC, big) == -E2BIG);
    CHECK(f.ctx.objects().size() == 1);
}

TEST_CASE("a faulting argument is EFAULT", "[dispatch]") {
    Fixture f;
    CHECK(dispatch::iommufd_ioctl(f.ctx, IOMMU_IOAS_ALLOC, 0xdead0000, f.mem, f.caller) == -EFAULT);
    // Size says 40 bytes, only 12 are there.
    iommu_ioas_alloc a{40, 0, 0};
    CHECK(f.call(IOMMU_IOAS_ALLOC, a) == -EFAULT);
}

TEST_CASE("unknown commands are ENOTTY", "[dispatch]") {
    Fixture f;
    iommu_destroy d{sizeof(d), 1};
    CHECK(f.call(_IO(IOMMUFD_TYPE, 0x7f), d) == -ENOTTY);
    CHECK(f.call(_IO(IOMMUFD_TYPE, 0x8f), d) == -ENOTTY);
    CHECK(f.call(_IOW(IOMMUFD_TYPE, 0x80, iommu_destroy), d) == -ENOTTY);
    CHECK(f.call(_IO('V', 0x80), d) == -ENOTTY);
    CHECK(f.call(IOMMU_FAULT_QUEUE_ALLOC, d) == -ENOTTY);  // not served yet
}

TEST_CASE("unknown flags and reserved fields are EOPNOTSUPP", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    iommu_ioas_alloc a{sizeof(a), 1, 0};
    CHECK(f.call(IOMMU_IOAS_ALLOC, a) == -EOPNOTSUPP);
    CHECK(f.map(id, 0, 0x1000, kRW | 8) == -EOPNOTSUPP);
    iommu_ioas_map m{sizeof(m), kRW, id, 1, 0x1000, 0x1000, 0};
    CHECK(f.call(IOMMU_IOAS_MAP, m) == -EOPNOTSUPP);
    iommu_ioas_iova_ranges r{sizeof(r), id, 0, 1, 0, 0};
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EOPNOTSUPP);
    iommu_ioas_allow_iovas al{sizeof(al), id, 0, 1, 0};
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, al) == -EOPNOTSUPP);
    iommu_option o{sizeof(o), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 1, id, 0};
    CHECK(f.call(IOMMU_OPTION, o) == -EOPNOTSUPP);
    o = {sizeof(o), 7, IOMMU_OPTION_OP_GET, 0, id, 0};
    CHECK(f.call(IOMMU_OPTION, o) == -EOPNOTSUPP);
    iommu_vfio_ioas v{sizeof(v), id, IOMMU_VFIO_IOAS_GET, 1};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -EOPNOTSUPP);
    v = {sizeof(v), id, 3, 0};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -EOPNOTSUPP);
    iommu_ioas_copy c{sizeof(c), kRW | 0x10, id, id, 0x1000, 0, 0};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -EOPNOTSUPP);
}

TEST_CASE("map checks in the kernel's order", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    CHECK(f.map(id, ~0ull, 0x1000, kFixedRW) == -EOVERFLOW);
    CHECK(f.map(id, 0, ~0ull, kRW) == -EOVERFLOW);
    CHECK(f.map(id, 0, 0x1000, IOMMU_IOAS_MAP_FIXED_IOVA) == -EINVAL);
    CHECK(f.map(99, 0, 0x1000, kRW) == -ENOENT);
    CHECK(f.map(id, 0, 0, kRW) == -EINVAL);
    uint64_t iova = 0;
    REQUIRE(f.map(id, 0, 0x1000, kRW, &iova) == 0);
    CHECK(iova == 0x1000);
    CHECK(f.map(id, 0x1000, 0x1000, kFixedRW) == -EEXIST);
    CHECK(f.map(id, ~0ull - 0xfff, 0x2000, kFixedRW) == -EOVERFLOW);
}

TEST_CASE("an id of the wrong type is ENOENT", "[dispatch]") {
    Fixture f;
    f.ctx.objects().add(std::make_unique<model::Object>(model::ObjectType::Device));
    CHECK(f.map(1, 0, 0x1000, kRW) == -ENOENT);
    iommu_option o{sizeof(o), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, 1, 0};
    CHECK(f.call(IOMMU_OPTION, o) == -ENOENT);
}

TEST_CASE("destroy of an object in use is EBUSY", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    f.ctx.objects().find_any(id)->users = 1;  // as a HWPT built on it would hold
    iommu_destroy d{sizeof(d), id};
    CHECK(f.call(IOMMU_DESTROY, d) == -EBUSY);
    f.ctx.objects().find_any(id)->users = 0;
    CHECK(f.call(IOMMU_DESTROY, d) == 0);
}

TEST_CASE("unmap of (0, U64_MAX) unmaps everything and reports the bytes", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    REQUIRE(f.map(id, 0x10000, 0x2000, kFixedRW) == 0);
    REQUIRE(f.map(id, 0x40000, 0x1000, kFixedRW) == 0);
    iommu_ioas_unmap u{sizeof(u), id, 0x10000, 0x1000};
    CHECK(f.call(IOMMU_IOAS_UNMAP, u) == -ENOENT);
    u = {sizeof(u), id, 0, ~0ull};
    REQUIRE(f.call(IOMMU_IOAS_UNMAP, u) == 0);
    CHECK(u.length == 0x3000);
    u = {sizeof(u), id, 0, ~0ull};
    REQUIRE(f.call(IOMMU_IOAS_UNMAP, u) == 0);
    CHECK(u.length == 0);
    u = {sizeof(u), id, 0x10000, 0x1000};
    CHECK(f.call(IOMMU_IOAS_UNMAP, u) == -ENOENT);
    u = {sizeof(u), id, 1, ~0ull};
    CHECK(f.call(IOMMU_IOAS_UNMAP, u) == -EOVERFLOW);
}

TEST_CASE("IOVA_RANGES reports the count it needs with EMSGSIZE", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    f.ctx.ioas(id)->add_reserved(0xfee00000, 0xfeefffff, 1);
    iommu_ioas_iova_ranges r{sizeof(r), id, 0, 0, 0, 0};
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EMSGSIZE);
    CHECK(r.num_iovas == 2);
    CHECK(r.out_iova_alignment == 1);
    iommu_iova_range ranges[3] = {};
    r.allowed_iovas = f.mem.put(ranges);
    r.num_iovas = 1;
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EMSGSIZE);
    CHECK(f.mem.get<iommu_iova_range>(r.allowed_iovas).last == 0xfedfffff);
    r.num_iovas = 3;
    REQUIRE(f.call(IOMMU_IOAS_IOVA_RANGES, r) == 0);
    CHECK(r.num_iovas == 2);
    auto second = f.mem.get<iommu_iova_range>(r.allowed_iovas + 16);
    CHECK(second.start == 0xfef00000);
    CHECK(second.last == ~0ull);
    r.allowed_iovas = 0xbad000;
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EFAULT);
}

TEST_CASE("ALLOW_IOVAS validates elements before a later fault", "[dispatch]") {
    Fixture f;
    uint32_t id = f.alloc();
    iommu_iova_range good[2] = {{0x1000, 0x1fff}, {0x4000, 0x4fff}};
    iommu_ioas_allow_iovas a{sizeof(a), id, 2, 0, f.mem.put(good)};
    REQUIRE(f.call(IOMMU_IOAS_ALLOW_IOVAS, a) == 0);
    CHECK(f.ctx.ioas(id)->allowed().size() == 2);
    iommu_iova_range bad[2] = {{0x2000, 0x1000}, {0x4000, 0x4fff}};
    a.allowed_iovas = f.mem.put(bad);
    a.num_iovas = 5;  // runs past the buffer, but element 0 is already invalid
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, a) == -EINVAL);
    a.allowed_iovas = f.mem.put(good);
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, a) == -EFAULT);
    iommu_iova_range overlap[2] = {{0x1000, 0x2fff}, {0x2000, 0x4fff}};
    a = {sizeof(a), id, 2, 0, f.mem.put(overlap)};
    CHECK(f.call(IOMMU_IOAS_ALLOW_IOVAS, a) == -EINVAL);
    CHECK(f.ctx.ioas(id)->allowed().size() == 2);
    a.num_iovas = 0;
    REQUIRE(f.call(IOMMU_IOAS_ALLOW_IOVAS, a) == 0);
    CHECK(f.ctx.ioas(id)->allowed().empty());
}

TEST_CASE("COPY maps a sub-range into another IOAS", "[dispatch]") {
    Fixture f;
    uint32_t a = f.alloc(), b = f.alloc();
    REQUIRE(f.map(a, 0x100000, 0x10000, kFixedRW) == 0);
    iommu_ioas_copy c{sizeof(c), kFixedRW, b, a, 0x2000, 0x800000, 0x104000};
    REQUIRE(f.call(IOMMU_IOAS_COPY, c) == 0);
    const model::Area* area = f.ctx.ioas(b)->areas().first();
    REQUIRE(area);
    CHECK(area->start == 0x800000);
    CHECK(area->user_va == 0x7f0000004000);
    c = {sizeof(c), kRW, b, a, 0x1000, 0, 0x10f000};
    REQUIRE(f.call(IOMMU_IOAS_COPY, c) == 0);
    CHECK(c.dst_iova == 0x1000);
    c = {sizeof(c), kRW, b, a, 0x2000, 0, 0x10f000};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -ENOENT);
    c = {sizeof(c), kRW, b, a, 0, 0, 0x100000};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -EINVAL);
    c = {sizeof(c), kRW, 77, a, 0x1000, 0, 0x100000};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -ENOENT);
    c = {sizeof(c), IOMMU_IOAS_MAP_FIXED_IOVA, b, a, 0x1000, 0, 0x100000};
    CHECK(f.call(IOMMU_IOAS_COPY, c) == -EINVAL);
}

TEST_CASE("RLIMIT_MODE needs CAP_SYS_RESOURCE and an empty context", "[dispatch]") {
    Fixture f;
    iommu_option o{sizeof(o), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, 7};
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    CHECK(o.val64 == 0);
    o = {sizeof(o), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0, 1};
    CHECK(f.call(IOMMU_OPTION, o) == -EPERM);
    int asked = -1;
    f.caller.capable = [&](int cap) {
        asked = cap;
        return true;
    };
    o.object_id = 1;
    CHECK(f.call(IOMMU_OPTION, o) == -EOPNOTSUPP);
    o.object_id = 0;
    o.val64 = 2;
    CHECK(f.call(IOMMU_OPTION, o) == -EINVAL);
    o.val64 = 1;
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    CHECK(asked == CAP_SYS_RESOURCE);
    o = {sizeof(o), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, 0};
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    CHECK(o.val64 == 1);
    f.alloc();
    o = {sizeof(o), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0, 0};
    CHECK(f.call(IOMMU_OPTION, o) == -EBUSY);
    o.op = 2;
    CHECK(f.call(IOMMU_OPTION, o) == -EOPNOTSUPP);
}

TEST_CASE("HUGE_PAGES is per IOAS", "[dispatch]") {
    Fixture f;
    uint32_t a = f.alloc(), b = f.alloc();
    iommu_option o{sizeof(o), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, a, 0};
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    o = {sizeof(o), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, a, 9};
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    CHECK(o.val64 == 0);
    o.object_id = b;
    REQUIRE(f.call(IOMMU_OPTION, o) == 0);
    CHECK(o.val64 == 1);
    o = {sizeof(o), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, a, 2};
    CHECK(f.call(IOMMU_OPTION, o) == -EINVAL);
    iommu_ioas_iova_ranges r{sizeof(r), a, 0, 0, 0, 0};
    CHECK(f.call(IOMMU_IOAS_IOVA_RANGES, r) == -EMSGSIZE);
    CHECK(r.out_iova_alignment == 4096);
}

TEST_CASE("VFIO_IOAS get, set and clear", "[dispatch]") {
    Fixture f;
    iommu_vfio_ioas v{sizeof(v), 0, IOMMU_VFIO_IOAS_GET, 0};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -ENODEV);
    uint32_t id = f.alloc();
    v = {sizeof(v), id + 1, IOMMU_VFIO_IOAS_SET, 0};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -ENOENT);
    v = {sizeof(v), id, IOMMU_VFIO_IOAS_SET, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    v = {sizeof(v), 0, IOMMU_VFIO_IOAS_GET, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    CHECK(v.ioas_id == id);
    v = {sizeof(v), 0, IOMMU_VFIO_IOAS_CLEAR, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    v = {sizeof(v), 0, IOMMU_VFIO_IOAS_GET, 0};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -ENODEV);
    v = {sizeof(v), id, IOMMU_VFIO_IOAS_SET, 0};
    REQUIRE(f.call(IOMMU_VFIO_IOAS, v) == 0);
    iommu_destroy d{sizeof(d), id};
    REQUIRE(f.call(IOMMU_DESTROY, d) == 0);
    v = {sizeof(v), 0, IOMMU_VFIO_IOAS_GET, 0};
    CHECK(f.call(IOMMU_VFIO_IOAS, v) == -ENODEV);
}

TEST_CASE("the footprint grows until it covers every byte the command touches", "[dispatch]") {
    Fixture f;
    REQUIRE(f.alloc() == 1);
    iommu_iova_range ranges[4] = {};
    uint64_t arr = f.mem.put(ranges);
    iommu_ioas_iova_ranges r{sizeof(r), 1, 4, 0, arr, 0};
    uint64_t at = f.mem.put(r);
    test::FakeMemory empty;
    auto fp = dispatch::iommufd_footprint(f.ctx, IOMMU_IOAS_IOVA_RANGES, at, empty);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0] == dispatch::Region{at, 4});
    CHECK(fp.out.empty());
    fp = dispatch::iommufd_footprint(f.ctx, IOMMU_IOAS_IOVA_RANGES, at, f.mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0] == dispatch::Region{at, sizeof(r)});
    REQUIRE(fp.out.size() == 2);
    CHECK(fp.out[0] == dispatch::Region{at, sizeof(r)});
    CHECK(fp.out[1] == dispatch::Region{arr, 4 * sizeof(iommu_iova_range)});
    CHECK(dispatch::iommufd_footprint(f.ctx, 0x1234, at, f.mem).in.empty());
    // A number in iommufd's range is read for its size before the rest of the
    // command is compared, so the size is part of its footprint.
    fp = dispatch::iommufd_footprint(f.ctx, _IOW(IOMMUFD_TYPE, 0x84, uint64_t), at, f.mem);
    CHECK(fp.in == std::vector<dispatch::Region>{{at, 4}});
    CHECK(fp.out.empty());
}

TEST_CASE("the footprint follows the checks made before an array is read", "[dispatch]") {
    Fixture f;
    iommu_ioas_allow_iovas a{sizeof(a), 7, 3, 0, 0x10};
    uint64_t at = f.mem.put(a);
    // No IOAS 7: the kernel fails ENOENT before following the pointer.
    auto fp = dispatch::iommufd_footprint(f.ctx, IOMMU_IOAS_ALLOW_IOVAS, at, f.mem);
    CHECK(fp.in == std::vector<dispatch::Region>{{at, sizeof(a)}});
    REQUIRE(f.alloc() == 1);
    a.ioas_id = 1;
    at = f.mem.put(a);
    fp = dispatch::iommufd_footprint(f.ctx, IOMMU_IOAS_ALLOW_IOVAS, at, f.mem);
    REQUIRE(fp.in.size() == 2);
    CHECK(fp.in[1] == dispatch::Region{0x10, 3 * sizeof(iommu_iova_range)});
    a.__reserved = 1;
    at = f.mem.put(a);
    CHECK(dispatch::iommufd_footprint(f.ctx, IOMMU_IOAS_ALLOW_IOVAS, at, f.mem).in.size() == 1);
}
