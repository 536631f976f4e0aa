// The device node's commands against an emulated edu, as a VMM drives it:
// bind, attach, map, program a DMA through the region ioctl, get the IRQ.
#include <array>
#include <catch2/catch.hpp>
#include <cerrno>

#include "device_fixture.h"
#include "devices/edu.h"
#include "dispatch/vfio_device.h"
#include "fake_memory.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/binding.h"

using namespace ioasid;
using test::Backend;
using test::Counter;
using test::FakeClientMemory;
using test::FakeMemory;
using test::kIommufd;

namespace {

struct Vmm {
    Backend be;
    FakeMemory mem;
    FakeClientMemory client{mem};
    // The production IOMMU (iommu/device_dma), for the backend's binding.
    iommu::DeviceDma dma{
        [this] {
            return iommu::DeviceDma::Binding{be.is_bound ? &be.ctx : nullptr, be.dev_id};
        },
        client, [this](uint64_t, uint64_t, bool) { ++faults_told; }};
    int faults_told = 0;
    // The maps below name source 1: a client process, pid 4242.
    Vmm() {
        be.ctx.add_source(4242, nullptr);
        be.edu.set_dma(&dma);
    }

    template <typename T>
    int ioctl(uint32_t cmd, T& arg) {
        uint64_t at = mem.put(arg);
        int rc = dispatch::vfio_device_ioctl(be, cmd, at, mem);
        arg = mem.get<T>(at);
        return rc;
    }
    // VFIO_DEVICE_SET_IRQS with `data` after the header; argsz can be cut.
    int set_irqs(uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                 std::vector<int32_t> data = {}, uint32_t cut = 0) {
        std::vector<uint8_t> bytes(sizeof(vfio_irq_set) + data.size() * 4);
        vfio_irq_set hdr{static_cast<uint32_t>(bytes.size()) - cut, flags, index, start, count};
        std::memcpy(bytes.data(), &hdr, sizeof(hdr));
        if (!data.empty()) std::memcpy(bytes.data() + sizeof(hdr), data.data(), data.size() * 4);
        return dispatch::vfio_device_ioctl(be, VFIO_DEVICE_SET_IRQS,
                                           mem.put_bytes(bytes.data(), bytes.size()), mem);
    }
    int region(bool write, uint32_t index, uint64_t off, void* buf, uint64_t len) {
        uint64_t data = mem.put_bytes(buf, len);
        ioasidd_region_rw rw{sizeof(rw), write ? IOASIDD_REGION_WRITE : 0u,
                             IOASID_VFIO_PCI_INDEX_TO_OFFSET(index) + off, len, data};
        int rc = ioctl(IOASIDD_REGION_RW, rw);
        if (!write) std::memcpy(buf, mem.region(data).data(), len);
        return rc;
    }
    uint32_t bar_read32(uint64_t off) {
        uint32_t v = 0;
        REQUIRE(region(false, 0, off, &v, 4) == 4);
        return v;
    }
    void bar_write64(uint64_t off, uint64_t v) { REQUIRE(region(true, 0, off, &v, 8) == 8); }
};

}  // namespace

TEST_CASE("device commands before BIND are EINVAL; BIND once", "[device]") {
    Vmm v;
    vfio_device_info info{sizeof(info), 0, 0, 0, 0, 0};
    CHECK(v.ioctl(VFIO_DEVICE_GET_INFO, info) == -EINVAL);
    vfio_device_bind_iommufd bind{sizeof(bind), 0, 99, 0};
    CHECK(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == -EBADF);
    bind.iommufd = -1;
    CHECK(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == -EINVAL);
    bind = {sizeof(bind), 1, kIommufd, 0};
    CHECK(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == -EINVAL);  // flags
    bind.flags = 0;
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    CHECK(bind.out_devid == 1);
    CHECK(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == -EINVAL);
    CHECK(v.ioctl(VFIO_DEVICE_GET_INFO, info) == 0);
    uint32_t unknown = 8;
    CHECK(v.ioctl(VFIO_GET_API_VERSION, unknown) == -ENOTTY);
}

TEST_CASE("NODE_KIND names a device file before and after BIND", "[device]") {
    Vmm v;
    CHECK(dispatch::vfio_device_ioctl(v.be, IOASIDD_NODE_KIND, 0, v.mem) == IOASIDD_NODE_DEVICE);
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    CHECK(dispatch::vfio_device_ioctl(v.be, IOASIDD_NODE_KIND, 0, v.mem) == IOASIDD_NODE_DEVICE);
    CHECK(dispatch::vfio_device_footprint(v.be, IOASIDD_NODE_KIND, 0, v.mem).in.empty());
}

TEST_CASE("edu answers GET_INFO, REGION_INFO and IRQ_INFO as the real one does", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    vfio_device_info info{sizeof(info), 0, 0, 0, 0, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_GET_INFO, info) == 0);
    CHECK(info.flags == VFIO_DEVICE_FLAGS_PCI);
    CHECK(info.num_regions == 9);
    CHECK(info.num_irqs == 5);
    vfio_region_info r{sizeof(r), 0, 0, 0, 0, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_GET_REGION_INFO, r) == 0);
    CHECK(r.flags == 0x7);
    CHECK(r.size == 0x100000);
    CHECK(r.offset == 0);
    r.index = 7;
    REQUIRE(v.ioctl(VFIO_DEVICE_GET_REGION_INFO, r) == 0);
    CHECK(r.flags == 0x3);
    CHECK(r.size == 0x100);
    CHECK(r.offset == 7ull << 40);
    r.index = 8;
    CHECK(v.ioctl(VFIO_DEVICE_GET_REGION_INFO, r) == -EINVAL);
    const uint32_t flags[] = {0x7, 0x9, 0x9, 0, 0x9}, counts[] = {1, 1, 0, 0, 1};
    for (uint32_t i = 0; i < 5; ++i) {
        vfio_irq_info irq{sizeof(irq), 0, i, 0};
        if (i == VFIO_PCI_ERR_IRQ_INDEX) {
            CHECK(v.ioctl(VFIO_DEVICE_GET_IRQ_INFO, irq) == -EINVAL);
            continue;
        }
        REQUIRE(v.ioctl(VFIO_DEVICE_GET_IRQ_INFO, irq) == 0);
        CHECK(irq.flags == flags[i]);
        CHECK(irq.count == counts[i]);
    }
    CHECK(v.ioctl(VFIO_DEVICE_RESET, info) == -EINVAL);  // edu has no reset
    // Nor a bus or slot reset, on a root bus; the arguments are checked first.
    vfio_pci_hot_reset_info hri{8, 0, 0};
    CHECK(v.ioctl(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri) == -EINVAL);
    hri.argsz = 64;
    CHECK(v.ioctl(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri) == -ENODEV);
    vfio_pci_hot_reset hr{sizeof(hr), 0, 1};
    CHECK(v.ioctl(VFIO_DEVICE_PCI_HOT_RESET, hr) == -EINVAL);
    hr.count = 0;
    CHECK(v.ioctl(VFIO_DEVICE_PCI_HOT_RESET, hr) == -ENODEV);
    vfio_device_feature f{sizeof(f), VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_MIGRATION};
    CHECK(v.ioctl(VFIO_DEVICE_FEATURE, f) == -ENOTTY);
    f.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | 1;
    CHECK(v.ioctl(VFIO_DEVICE_FEATURE, f) == -EINVAL);
}

TEST_CASE("hot reset of an emulated device opened through its group: group fds, then ENODEV",
          "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    // The library's form: the cdev-opened device still takes no groups.
    ioasidd_hot_reset_groups g{sizeof(g), 0, sizeof(vfio_pci_hot_reset), 0, 1, 0};
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -EINVAL);
    g.count = 0;
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -ENODEV);
    v.be.group_opened = true;
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -EINVAL);
    g.count = 1;
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -ENODEV);
    g.vfio_flags = 1;
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -EINVAL);
    g.vfio_flags = 0;
    g.flags = 2;  // not one of ioasidd's
    CHECK(v.ioctl(IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, g) == -EINVAL);
    // The plain command: a zero-length array is the cdev's.
    vfio_pci_hot_reset hr{sizeof(hr), 0, 0};
    CHECK(v.ioctl(VFIO_DEVICE_PCI_HOT_RESET, hr) == -EINVAL);
    hr.count = 1;
    CHECK(v.ioctl(VFIO_DEVICE_PCI_HOT_RESET, hr) == -ENODEV);
}

TEST_CASE("config space: BAR sizing by the all-ones probe", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    uint32_t id = 0;
    REQUIRE(v.region(false, 7, 0, &id, 4) == 4);
    CHECK(id == 0x11e81234);
    uint32_t ones = 0xffffffff;
    REQUIRE(v.region(true, 7, 0x10, &ones, 4) == 4);
    uint32_t bar = 0;
    REQUIRE(v.region(false, 7, 0x10, &bar, 4) == 4);
    CHECK(bar == 0xfff00000);  // 1 MiB, 32-bit memory
    uint8_t big[300];
    CHECK(v.region(false, 7, 0, big, sizeof(big)) == 256);  // short at the end
    CHECK(v.region(false, 7, 256, big, 4) == -EINVAL);
    CHECK(v.region(false, 3, 0, big, 4) == -EINVAL);  // BAR3 does not exist
}

TEST_CASE("an edu DMA goes through the IOAS into the client's memory and raises MSI", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    uint32_t ioas = v.be.ctx.alloc_ioas();
    vfio_device_attach_iommufd_pt at{sizeof(at), 0, ioas};
    REQUIRE(v.ioctl(VFIO_DEVICE_ATTACH_IOMMUFD_PT, at) == 0);
    CHECK(at.pt_id != ioas);

    // The client's buffer, mapped at IOVA 0x100000.
    std::vector<uint8_t> pattern(4096);
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i * 7 + 1);
    uint64_t buf = v.mem.put_bytes(pattern.data(), pattern.size());
    uint64_t back = v.mem.put_bytes(std::vector<uint8_t>(4096).data(), 4096);
    uint64_t iova = 0x100000, iova2 = 0x200000;
    auto& io = *v.be.ctx.ioas(ioas);
    REQUIRE(io.map(buf, 4096, model::kProtRead | model::kProtWrite, true, 1, iova) == 0);
    REQUIRE(io.map(back, 4096, model::kProtRead | model::kProtWrite, true, 1, iova2) == 0);

    CHECK(v.bar_read32(0) == 0x010000ed);
    uint32_t live = 0x12345678;
    REQUIRE(v.region(true, 0, 4, &live, 4) == 4);
    CHECK(v.bar_read32(4) == ~0x12345678u);

    auto msi = std::make_shared<Counter>();
    v.be.fds[11] = msi;
    constexpr uint32_t kEventfdTrigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    REQUIRE(v.set_irqs(kEventfdTrigger, 1, 0, 1, {11}) == 0);

    // Without bus mastering the device does not DMA.
    v.bar_write64(0x80, iova);
    v.bar_write64(0x88, 0x40000);
    v.bar_write64(0x90, 4096);
    v.bar_write64(0x98, 0x1 | 0x4);
    CHECK(v.be.edu.dropped_dmas() == 1);
    uint16_t cmd = 0x6;  // memory + master
    REQUIRE(v.region(true, 7, 4, &cmd, 2) == 2);

    v.bar_write64(0x98, 0x1 | 0x4);  // RAM -> device buffer, IRQ
    v.bar_write64(0x80, 0x40000);
    v.bar_write64(0x88, iova2);
    v.bar_write64(0x98, 0x1 | 0x2 | 0x4);  // device buffer -> RAM, IRQ
    CHECK(v.mem.region(back) == pattern);
    CHECK(msi->count == 3);
    CHECK(v.bar_read32(0x24) == 0x100);

    // After UNMAP the IOVA faults and the buffer is untouched.
    uint64_t unmapped = 0;
    REQUIRE(io.unmap(iova2, 4096, unmapped) == 0);
    std::fill(v.mem.region(back).begin(), v.mem.region(back).end(), 0);
    v.bar_write64(0x98, 0x1 | 0x2);
    CHECK(v.be.edu.dma_faults() == 1);
    CHECK(v.faults_told == 1);
    CHECK(v.client.last_pid == 4242);  // the process that mapped the pages
    CHECK(v.mem.region(back) == std::vector<uint8_t>(4096));
}

TEST_CASE("INTx is automasked and fires again on unmask while asserted", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    auto intx = std::make_shared<Counter>();
    v.be.fds[5] = intx;
    constexpr uint32_t kEventfdTrigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    CHECK(v.set_irqs(kEventfdTrigger, 0, 0, 1, {6}) == -EBADF);
    REQUIRE(v.set_irqs(kEventfdTrigger, 0, 0, 1, {5}) == 0);
    CHECK(v.set_irqs(kEventfdTrigger, 1, 0, 1, {5}) == -EINVAL);     // not MSI while INTx is on
    CHECK(v.set_irqs(kEventfdTrigger, 0, 1, 1, {5}) == -EINVAL);     // start past the count
    CHECK(v.set_irqs(kEventfdTrigger, 0, 0, 1, {5}, 4) == -EINVAL);  // argsz without the data
    CHECK(v.set_irqs(kEventfdTrigger, 9, 0, 1, {5}) == -EINVAL);
    CHECK(v.set_irqs(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_MASK, 1, 0, 1, {5}) ==
          -ENOTTY);

    uint32_t raise = 0x1;
    REQUIRE(v.region(true, 0, 0x60, &raise, 4) == 4);
    CHECK(intx->count == 1);
    CHECK(v.be.edu.irqs().intx_masked());
    const uint32_t unmask = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
    REQUIRE(v.set_irqs(unmask, 0, 0, 1) == 0);
    CHECK(intx->count == 2);                           // still asserted
    REQUIRE(v.region(true, 0, 0x64, &raise, 4) == 4);  // acknowledge: line drops
    REQUIRE(v.set_irqs(unmask, 0, 0, 1) == 0);
    CHECK(intx->count == 2);
    CHECK_FALSE(v.be.edu.irqs().intx_masked());
    // Loopback trigger.
    REQUIRE(v.set_irqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1) == 0);
    CHECK(intx->count == 3);
    REQUIRE(v.set_irqs(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 0) == 0);
    CHECK_FALSE(v.be.edu.irqs().intx_enabled());
}

TEST_CASE("REQ: DATA_NONE needs a trigger, -1 drops it, below -1 is EINVAL", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    auto req = std::make_shared<Counter>();
    v.be.fds[8] = req;
    constexpr uint32_t kReq = VFIO_PCI_REQ_IRQ_INDEX;
    constexpr uint32_t kNone = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    constexpr uint32_t kFd = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    CHECK(v.set_irqs(kNone, kReq, 0, 1) == -EINVAL);  // measured on the real edu too
    CHECK(v.set_irqs(kNone, kReq, 0, 0) == -EINVAL);
    CHECK(v.set_irqs(kFd, kReq, 0, 1, {-2}) == -EINVAL);
    REQUIRE(v.set_irqs(kFd, kReq, 0, 1, {8}) == 0);
    REQUIRE(v.set_irqs(kNone, kReq, 0, 1) == 0);
    CHECK(req->count == 1);
    REQUIRE(v.set_irqs(kFd, kReq, 0, 1, {-1}) == 0);
    CHECK(v.set_irqs(kNone, kReq, 0, 1) == -EINVAL);
    CHECK(req->count == 1);
}

TEST_CASE("FEATURE: vfio-pci's runtime low power, PROBE answered honestly", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    auto feature = [&](uint32_t flags, int32_t wake_fd = -1) {
        // The header, then the wakeup entry as the feature's data.
        std::array<uint32_t, 4> f{16, flags, static_cast<uint32_t>(wake_fd), 0};
        return v.ioctl(VFIO_DEVICE_FEATURE, f);
    };
    constexpr uint32_t kProbe = VFIO_DEVICE_FEATURE_PROBE;
    constexpr uint32_t kSet = VFIO_DEVICE_FEATURE_SET;
    CHECK(feature(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY | kProbe | kSet) == 0);
    CHECK(feature(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY | kProbe | VFIO_DEVICE_FEATURE_GET) ==
          -EINVAL);
    CHECK(feature(VFIO_DEVICE_FEATURE_MIGRATION | kProbe | kSet) == -ENOTTY);
    REQUIRE(feature(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY | kSet) == 0);
    CHECK(v.be.edu.low_power());
    CHECK(feature(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY | kSet) == -EINVAL);
    REQUIRE(feature(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT | kSet) == 0);
    CHECK_FALSE(v.be.edu.low_power());

    auto wake = std::make_shared<Counter>();
    v.be.fds[9] = wake;
    const uint32_t with_wakeup = VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP | kSet;
    CHECK(feature(with_wakeup, -1) == -EINVAL);
    CHECK(feature(with_wakeup, 10) == -EBADF);
    REQUIRE(feature(with_wakeup, 9) == 0);
    CHECK(wake->count == 0);
    vfio_device_info info{sizeof(info), 0, 0, 0, 0, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_GET_INFO, info) == 0);  // the access resumes the device
    CHECK(wake->count == 1);
    CHECK_FALSE(v.be.edu.low_power());
}

TEST_CASE("REGION_RW's footprint asks for the data only when the handler would use it",
          "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    auto footprint = [&](uint32_t flags, uint32_t index, uint64_t off, uint64_t len) {
        ioasidd_region_rw rw{sizeof(rw), flags, IOASID_VFIO_PCI_INDEX_TO_OFFSET(index) + off, len,
                             0xdead0000};
        uint64_t at = v.mem.put(rw);
        return dispatch::vfio_device_footprint(v.be, IOASIDD_REGION_RW, at, v.mem);
    };
    auto fp = footprint(0, 7, 0xf0, 64);  // read, short at the end of config space
    REQUIRE(fp.out.size() == 1);
    CHECK(fp.out[0] == dispatch::Region{0xdead0000, 16});
    fp = footprint(IOASIDD_REGION_WRITE, 0, 0, 8);
    REQUIRE(fp.in.size() == 2);
    CHECK(fp.in[1] == dispatch::Region{0xdead0000, 8});
    // BAR3 does not exist and flag 2 is unknown: EINVAL before the data.
    CHECK(footprint(0, 3, 0, 8).out.empty());
    CHECK(footprint(2, 0, 0, 8).in.size() == 1);
}

TEST_CASE("IOEVENTFD: a signalled eventfd writes its data to the BAR, as vfio-pci's", "[device]") {
    Vmm v;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, kIommufd, 0};
    REQUIRE(v.ioctl(VFIO_DEVICE_BIND_IOMMUFD, bind) == 0);
    uint16_t cmd = 0x2;  // memory decoding on
    REQUIRE(v.region(true, 7, 4, &cmd, 2) == 2);
    v.be.fds[3] = std::make_shared<test::Counter>();
    const uint64_t bar0 = IOASID_VFIO_PCI_INDEX_TO_OFFSET(0);
    auto set = [&](uint32_t flags, uint64_t offset, uint64_t data, int32_t fd,
                   uint32_t argsz = 32) {
        vfio_device_ioeventfd e{argsz, flags, offset, data, fd, 0};
        return v.ioctl(VFIO_DEVICE_IOEVENTFD, e);
    };
    const uint32_t w4 = VFIO_DEVICE_IOEVENTFD_32;
    // The argument rules, then the BAR's, in the kernel's order.
    CHECK(set(w4, bar0 + 4, 1, 3, 24) == -EINVAL);
    CHECK(set(0, bar0 + 4, 1, 3) == -EINVAL);
    CHECK(set(0x3, bar0 + 4, 1, 3) == -EINVAL);
    CHECK(set(0x10 | w4, bar0 + 4, 1, 3) == -EINVAL);
    CHECK(set(w4, bar0 + 4, 1, -2) == -EINVAL);
    CHECK(set(w4, bar0 + (1 << 20), 1, 3) == -EINVAL);                        // past the BAR
    CHECK(set(w4, IOASID_VFIO_PCI_INDEX_TO_OFFSET(7) + 4, 1, 3) == -EINVAL);  // not a BAR
    CHECK(set(w4, bar0 + 4, 1, 99) == -EBADF);
    CHECK(set(w4, bar0 + 4, 0x12345678, -1) == -ENODEV);
    REQUIRE(set(w4, bar0 + 4, 0x12345678, 3) == 0);
    CHECK(set(w4, bar0 + 4, 0x12345678, 3) == -EEXIST);
    v.be.signal(3);
    CHECK(v.bar_read32(4) == ~0x12345678u);  // edu's liveness register inverts
    REQUIRE(set(w4, bar0 + 4, 0x12345678, -1) == 0);
    CHECK(v.be.watched.empty());  // its watch went with it
    uint32_t zero = 0;
    REQUIRE(v.region(true, 0, 4, &zero, 4) == 4);
    v.be.signal(3);
    CHECK(v.bar_read32(4) == ~0u);
    // The file's close (unbind) takes them all, as vfio-pci's disable does.
    REQUIRE(set(w4, bar0 + 4, 7, 3) == 0);
    REQUIRE(set(VFIO_DEVICE_IOEVENTFD_8, bar0 + 8, 7, 3) == 0);
    CHECK(v.be.edu.ioeventfds().size() == 2);
    v.be.edu.quiesce();
    CHECK(v.be.edu.ioeventfds().size() == 0);
    CHECK(v.be.watched.empty());
}
