// IOMMU_TEST_CMD (ioasidd --test-ops) and HWPT_INVALIDATE, errno for errno
// with the kernel's selftest.c and hw_pagetable.c.
#include <catch2/catch.hpp>
#include <cerrno>

#include "dispatch/iommufd.h"
#include "dispatch/iommufd_test.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "unit/fake_memory.h"

using namespace ioasid;

namespace {

struct Fixture {
    model::Context ctx;
    test::FakeMemory mem;
    dispatch::Caller caller;
    Fixture() { ctx.enable_test_ops(); }

    template <typename T>
    int call(uint32_t cmd, T& s) {
        uint64_t at = mem.put(s);
        int rc = dispatch::iommufd_ioctl(ctx, cmd, at, mem, caller);
        s = mem.get<T>(at);
        return rc;
    }
    int test(iommu_test_cmd& c) {
        c.size = sizeof(c);
        return call(IOMMU_TEST_CMD, c);
    }
    uint32_t alloc() {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        REQUIRE(call(IOMMU_IOAS_ALLOC, a) == 0);
        return a.out_ioas_id;
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
