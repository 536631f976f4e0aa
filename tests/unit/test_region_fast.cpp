// IOASIDD_REGION_{READ,WRITE}_FAST against the emulated edu: the same
// accesses and answers as IOASIDD_REGION_RW, with no memory of the caller
// touched, and the values a return value cannot carry held for the thread.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "device_fixture.h"
#include "dispatch/vfio_device.h"
#include "fake_memory.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"

using namespace ioasid;

namespace {

constexpr uint32_t kConfig = VFIO_PCI_CONFIG_REGION_INDEX;

struct Bound {
    test::Backend be;
    test::FakeMemory mem;
    test::FakeMemory untouched;  // what the fast commands are given
    Bound() {
        vfio_device_bind_iommufd bind{sizeof(bind), 0, test::kIommufd, 0};
        uint64_t at = mem.put(bind);
        REQUIRE(dispatch::vfio_device_ioctl(be, VFIO_DEVICE_BIND_IOMMUFD, at, mem) == 0);
    }
    int fast_read(uint32_t index, unsigned log2, uint64_t off) {
        return dispatch::vfio_device_ioctl(be, IOASIDD_REGION_READ_FAST(index, log2), off,
                                           untouched);
    }
    int fast_write(uint32_t index, unsigned log2, uint64_t off, uint32_t value) {
        return dispatch::vfio_device_ioctl(be, IOASIDD_REGION_WRITE_FAST(index, log2),
                                           off | static_cast<uint64_t>(value) << 32, untouched);
    }
    // What REGION_RW reads there.
    int64_t rw_read(uint32_t index, uint64_t off, unsigned len, uint32_t& v) {
        uint64_t data = mem.put_bytes(&v, len);
        ioasidd_region_rw rw{sizeof(rw), 0, IOASID_VFIO_PCI_INDEX_TO_OFFSET(index) + off, len,
                             data};
        int rc = dispatch::vfio_device_ioctl(be, IOASIDD_REGION_RW, mem.put(rw), mem);
        v = 0;
        std::memcpy(&v, mem.region(data).data(), len);
        return rc;
    }
};

uint32_t unflip(int r) {
    return static_cast<uint32_t>(r) ^ IOASIDD_REGION_FAST_FLIP;
}

}  // namespace

TEST_CASE("a fast read of BAR0 and config space gives REGION_RW's value", "[region-fast]") {
    Bound b;
    CHECK(unflip(b.fast_read(0, 2, 0)) == 0x010000ed);  // edu's ID
    CHECK(unflip(b.fast_read(kConfig, 2, 0)) == 0x11e81234);
    CHECK(unflip(b.fast_read(kConfig, 1, 2)) == 0x11e8);
    CHECK(unflip(b.fast_read(kConfig, 0, 0)) == 0x34);
    for (uint64_t off = 0; off < 0x100; off += 4) {
        uint32_t v;
        REQUIRE(b.rw_read(kConfig, off, 4, v) == 4);
        CHECK(unflip(b.fast_read(kConfig, 2, off)) == v);
    }
}

TEST_CASE("a fast write is made as REGION_RW makes it, and returns its size", "[region-fast]") {
    Bound b;
    CHECK(b.fast_write(0, 2, 4, 0x12345678) == 4);
    uint32_t v;
    REQUIRE(b.rw_read(0, 4, 4, v) == 4);
    CHECK(v == ~0x12345678u);                            // edu's liveness register inverts
    CHECK(b.fast_write(kConfig, 1, 0x04, 0x0006) == 2);  // memory + bus master
    REQUIRE(b.rw_read(kConfig, 0x04, 2, v) == 2);
    CHECK(v == 0x0006);
}

TEST_CASE("a value a return value cannot carry is held for its thread", "[region-fast]") {
    Bound b;
    // The liveness register reads ~written: 0x7ffffabc, in the band the
    // flip would put between -4095 and -1.
    REQUIRE(b.fast_write(0, 2, 4, ~0x7ffffabcu) == 4);
    CHECK(b.fast_read(0, 2, 4) == -EOVERFLOW);
    CHECK(dispatch::vfio_device_ioctl(b.be, IOASIDD_REGION_FAST_HELD, 0, b.mem) == 0xabc);
    CHECK(dispatch::vfio_device_ioctl(b.be, IOASIDD_REGION_FAST_HELD, 0, b.mem) == -ENOENT);
    // Just outside the band: carried, all ones among them.
    REQUIRE(b.fast_write(0, 2, 4, ~0x7ffff000u) == 4);
    CHECK(unflip(b.fast_read(0, 2, 4)) == 0x7ffff000);
    REQUIRE(b.fast_write(0, 2, 4, 0) == 4);
    CHECK(b.fast_read(0, 2, 4) == 0x7fffffff);
    CHECK(unflip(b.fast_read(0, 2, 4)) == 0xffffffff);
    CHECK(b.untouched.reads + b.untouched.writes == 0);
}

TEST_CASE("fast access refusals: REGION_RW's where it would refuse, E2BIG where it would be short",
          "[region-fast]") {
    test::Backend unbound;
    test::FakeMemory mem;
    CHECK(dispatch::vfio_device_ioctl(unbound, IOASIDD_REGION_READ_FAST(0, 2), 0, mem) == -EINVAL);
    Bound b;
    CHECK(b.fast_read(kConfig, 2, 0x100) == -EINVAL);  // past the region
    CHECK(b.fast_read(kConfig, 2, 0xfe) == -E2BIG);    // across its end
    uint32_t v;
    CHECK(b.rw_read(kConfig, 0xfe, 4, v) == 2);                       // which REGION_RW makes short
    CHECK(b.fast_read(VFIO_PCI_BAR1_REGION_INDEX, 2, 0) == -EINVAL);  // no such BAR
    CHECK(b.fast_read(VFIO_PCI_ROM_REGION_INDEX, 2, 0) == -EINVAL);
    // The offset is the argument's low 32 bits; 8-byte accesses are not fast.
    CHECK(unflip(b.fast_read(kConfig, 2, 0xdead00000000ull)) == 0x11e81234);
    CHECK(dispatch::vfio_device_ioctl(b.be, _IO(IOASIDD_TYPE, 0x43), 0, b.mem) == -ENOTTY);
    CHECK(b.untouched.reads + b.untouched.writes == 0);
}
