// mmap of an emulated device's regions (dispatch::vfio_device_mmap): the
// rules of the mmap syscall and vfio_pci_core_mmap(), a memory BAR lent as
// the very memory the device reads and writes, and a BAR that traps.
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "devices/edu.h"
#include "devices/membar.h"
#include "dispatch/vfio_device.h"
#include "ioasid/vfio.h"

using namespace ioasid;

namespace {

constexpr uint64_t kBar0 = IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

int map(const devices::EmulatedPci& dev, uint64_t offset, uint64_t len, uint32_t flags,
        uint64_t* at = nullptr) {
    int fd = -2;
    uint64_t fd_offset = ~0ull;
    int rc = dispatch::vfio_device_mmap(dev, offset, len, flags, fd, fd_offset);
    if (rc == 0) {
        CHECK(fd >= 0);
        if (at) *at = fd_offset;
    }
    return rc;
}

}  // namespace

TEST_CASE("a memory BAR maps the device's own memory, both ways", "[mmap]") {
    devices::MemBar bar(64 << 10);
    int fd = -1;
    uint64_t at = 1;
    REQUIRE(dispatch::vfio_device_mmap(bar, kBar0, 64 << 10, MAP_SHARED, fd, at) == 0);
    CHECK(at == 0);
    auto* p = static_cast<volatile uint32_t*>(
        ::mmap(nullptr, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(at)));
    REQUIRE(p != MAP_FAILED);
    p[3] = 0xfeedf00d;  // the client's store, seen by the device
    uint32_t v = 0;
    REQUIRE(bar.region_read(VFIO_PCI_BAR0_REGION_INDEX, 12, &v, 4) == 4);
    CHECK(v == 0xfeedf00d);
    v = 0x12345678;  // the device's, seen by the client
    REQUIRE(bar.region_write(VFIO_PCI_BAR0_REGION_INDEX, 0x8000, &v, 4) == 4);
    CHECK(p[0x8000 / 4] == 0x12345678);
    REQUIRE(bar.reset() == 0);  // a reset clears what the client sees
    CHECK(p[3] == 0);
    CHECK(p[0x8000 / 4] == 0);
    ::munmap(const_cast<uint32_t*>(p), 64 << 10);
    // A page inside the BAR maps at its offset there.
    CHECK(map(bar, kBar0 + kPage, kPage, MAP_SHARED_VALIDATE, &at) == 0);
    CHECK(at == kPage);
}

TEST_CASE("a memory BAR's next user does not share the memory an earlier one still maps",
          "[mmap]") {
    devices::MemBar bar(64 << 10);
    int fd = -1;
    uint64_t at = 0;
    REQUIRE(dispatch::vfio_device_mmap(bar, kBar0, kPage, MAP_SHARED, fd, at) == 0);
    auto* old = static_cast<volatile uint32_t*>(
        ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    REQUIRE(old != MAP_FAILED);
    bar.quiesce();  // its user closed the device, keeping the map
    uint32_t secret = 0x5ec2e7;
    REQUIRE(bar.region_write(VFIO_PCI_BAR0_REGION_INDEX, 0, &secret, 4) == 4);
    CHECK(old[0] == 0);
    int next = -1;
    REQUIRE(dispatch::vfio_device_mmap(bar, kBar0, kPage, MAP_SHARED, next, at) == 0);
    auto* now = static_cast<volatile uint32_t*>(
        ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, next, 0));
    REQUIRE(now != MAP_FAILED);
    CHECK(now[0] == 0x5ec2e7);
    ::munmap(const_cast<uint32_t*>(old), kPage);
    ::munmap(const_cast<uint32_t*>(now), kPage);
}

TEST_CASE("mmap of an emulated device is refused where vfio-pci refuses it", "[mmap]") {
    devices::MemBar bar(64 << 10);
    CHECK(map(bar, kBar0, 0, MAP_SHARED) == -EINVAL);                   // no length
    CHECK(map(bar, kBar0 + 16, kPage, MAP_SHARED) == -EINVAL);          // not page aligned
    CHECK(map(bar, kBar0, 64 << 10, MAP_PRIVATE) == -EINVAL);           // shared only
    CHECK(map(bar, kBar0, (64 << 10) + kPage, MAP_SHARED) == -EINVAL);  // past the BAR
    CHECK(map(bar, kBar0 + (64 << 10), kPage, MAP_SHARED) == -EINVAL);  // after it
    CHECK(map(bar, kBar0 + (60 << 10), 2 * kPage, MAP_SHARED) == -EINVAL);
    CHECK(map(bar, IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR1_REGION_INDEX), kPage,
              MAP_SHARED) == -EINVAL);  // a BAR the device does not have
    CHECK(map(bar, IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_ROM_REGION_INDEX), kPage, MAP_SHARED) ==
          -EINVAL);
    CHECK(map(bar, IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX), kPage,
              MAP_SHARED) == -EINVAL);
    CHECK(map(bar, IOASID_VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_NUM_REGIONS), kPage, MAP_SHARED) ==
          -EINVAL);
}

TEST_CASE("a BAR that traps is ENODEV once vfio-pci's rules let the map through", "[mmap]") {
    devices::Edu edu;
    CHECK(map(edu, kBar0, devices::Edu::kBarSize, MAP_SHARED) == -ENODEV);
    CHECK(map(edu, kBar0, devices::Edu::kBarSize, MAP_PRIVATE) == -EINVAL);
    CHECK(map(edu, kBar0, 2 * devices::Edu::kBarSize, MAP_SHARED) == -EINVAL);
}

TEST_CASE("a BAR smaller than a page maps one page, as vfio-pci maps it", "[mmap]") {
    devices::MemBar bar(256);
    CHECK(map(bar, kBar0, kPage, MAP_SHARED) == 0);
    CHECK(map(bar, kBar0, 2 * kPage, MAP_SHARED) == -EINVAL);
}
