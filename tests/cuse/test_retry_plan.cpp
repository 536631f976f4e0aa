// The pure pieces of the retry protocol: the region store and the plan.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "cuse/region_memory.h"
#include "cuse/retry_plan.h"

using namespace ioasid;
using dispatch::Footprint;
using dispatch::Region;

TEST_CASE("region overlap is safe at the top of the address space", "[retry]") {
    uint64_t skip = 0, n = 0;
    const uint64_t top = ~uint64_t{0} - 0xff;
    CHECK(cuse::overlap({top, 0x4000}, {top + 0x10, 8}, skip, n));
    CHECK(skip == 0x10);
    CHECK(n == 8);
    CHECK_FALSE(cuse::overlap({0x1000, 0x10}, {0x1010, 0x10}, skip, n));
    CHECK(cuse::overlap({0x1010, 0x20}, {0x1000, 0x18}, skip, n));
    CHECK(skip == 0);
    CHECK(n == 8);
    CHECK_FALSE(cuse::overlap({0x1000, 0}, {0x1000, 8}, skip, n));
}

TEST_CASE("out data runs to the last byte written and needs every byte before it", "[retry]") {
    unsigned char in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    std::vector<Region> in_regions{{0x1000, 8}};
    std::vector<Region> out{{0x1000, 8}, {0x9000, 32}};
    cuse::RegionMemory mem(in_regions, in, sizeof(in), out);
    unsigned char b[4];
    CHECK(mem.read(0x9000, b, 4) == -EFAULT);  // out only: unknown
    CHECK(mem.missed());
    auto none = mem.out_data(out);
    REQUIRE(none);
    CHECK(none->empty());
    uint32_t v = 0xaabbccdd;
    REQUIRE(mem.write(0x9000, &v, 4) == 0);
    auto some = mem.out_data(out);
    REQUIRE(some);
    REQUIRE(some->size() == 2);
    CHECK((*some)[0].iov_len == 8);  // the struct, unchanged but known
    CHECK((*some)[1].iov_len == 4);  // cut after the last byte written
    REQUIRE(mem.write(0x9010, &v, 4) == 0);
    CHECK_FALSE(mem.out_data(out));  // bytes 4..15 of the array are unknown
    unsigned char top[16] = {};
    Region wrap{~uint64_t{0} - 7, 16};
    cuse::RegionMemory high({}, nullptr, 0, {wrap});
    REQUIRE(high.write(wrap.addr, top, 8) == 0);
    auto w = high.out_data({wrap});
    REQUIRE(w);
    CHECK(w->at(0).iov_len == 8);
}

TEST_CASE("an out-only region overlapping another out region is read in up to the overlap",
          "[retry]") {
    Footprint fp{{{0x1010, 32}}, {{0x1010, 32}, {0x1000, 4096}}};
    Footprint c = cuse::carried(fp);
    // Only up to the end of the struct: the rest of a claimed array may not
    // even be there, and the kernel would not read it either.
    CHECK(c.in == std::vector<Region>{{0x1010, 32}, {0x1000, 0x30}});
    Footprint apart{{{0x1000, 32}}, {{0x1000, 32}, {0x8000, 64}}};
    CHECK(cuse::carried(apart) == apart);
}

TEST_CASE("the plan replays a footprint over the bytes of one request", "[retry]") {
    // A command reading a 4-byte size, then `size` bytes, then an 8-byte
    // array whose address is in the struct's last 8 bytes.
    auto footprint = [](dispatch::UserMemory& known) {
        Footprint fp{{{0x1000, 4}}, {}};
        uint32_t size;
        if (known.read(0x1000, &size, 4)) return fp;
        fp.in[0].len = size;
        fp.out.push_back({0x1000, size});
        uint64_t arr;
        if (known.read(0x1000 + size - 8, &arr, 8)) return fp;
        fp.in.push_back({arr, 8});
        return fp;
    };
    auto plan = cuse::plan_retry(footprint, nullptr, 0, 0);
    CHECK(plan.action == cuse::RetryPlan::Action::Ask);
    CHECK(plan.round == 1);
    CHECK(plan.footprint.in == std::vector<Region>{{0x1000, 4}});

    unsigned char bytes[24] = {};
    uint32_t size = 16;
    uint64_t arr = 0x5000;
    std::memcpy(bytes, &size, 4);
    std::memcpy(bytes + 8, &arr, 8);
    plan = cuse::plan_retry(footprint, bytes, 4, 0);
    CHECK(plan.action == cuse::RetryPlan::Action::Ask);
    CHECK(plan.round == 2);
    CHECK(plan.footprint.in == std::vector<Region>{{0x1000, 16}});
    plan = cuse::plan_retry(footprint, bytes, 16, 16);
    CHECK(plan.action == cuse::RetryPlan::Action::Ask);
    CHECK(plan.round == 3);
    plan = cuse::plan_retry(footprint, bytes, 24, 16);
    CHECK(plan.action == cuse::RetryPlan::Action::Run);
    CHECK(plan.round == 4);
    // The caller changed its size since: the bytes no longer fit the plan.
    plan = cuse::plan_retry(footprint, bytes, 24, 24);
    CHECK(plan.action == cuse::RetryPlan::Action::Ask);
}

TEST_CASE("a zero-length copy succeeds anywhere and asks for nothing", "[retry]") {
    const unsigned char bytes[8] = {};
    cuse::RegionMemory mem({{0x1000, 8}}, bytes, sizeof(bytes), {{0x1000, 8}});
    // As copy_from_user/copy_to_user of 0 bytes: no fault, and no retry for
    // an address the request did not carry (a REGION_RW of length 0).
    CHECK(mem.read(0x9000, nullptr, 0) == 0);
    CHECK(mem.write(0x9000, nullptr, 0) == 0);
    CHECK(mem.read(0x1000, nullptr, 0) == 0);
    CHECK_FALSE(mem.missed());
    CHECK(mem.read(0x9000, nullptr, 1) == -EFAULT);
    CHECK(mem.missed());
}
