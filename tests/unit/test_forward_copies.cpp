// A forwarded device's commands copy exactly what the kernel's vfio-pci
// copies: the struct's minsz in, and back only what the kernel fills. The
// caller's struct ends where a read-only page begins and argsz runs past
// it (0xffffffff included): the kernel answers such calls, and so must the
// daemon, without touching the page. The fake device writes what 6.12's
// handlers write, a capability chain included.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "dispatch/vfio_forward.h"
#include "ioasid/vfio.h"
#include "unit/fake_memory.h"

using namespace ioasid;

namespace {

struct KernelDevice : dispatch::ForwardTarget {
    uint32_t caps = 0;  // the chain GET_INFO and GET_REGION_INFO append
    std::vector<uint32_t> argszs;

    // vfio_pci_ioctl_get_info() and _get_region_info(): the struct, and
    // the chain when argsz has room for it, else the room it needs.
    int info(uint8_t* b, uint32_t in, uint32_t size, uint32_t caps_flag, uint32_t off_at) {
        uint32_t argsz;
        std::memcpy(&argsz, b, 4);
        argszs.push_back(argsz);
        if (argsz < in) return -EINVAL;
        std::memset(b + 4, 0, size - 4);
        uint32_t flags = 0x2, cap_offset = 0;
        if (caps) {
            flags |= caps_flag;
            if (argsz < size + caps) {
                argsz = size + caps;
            } else {
                std::memset(b + size, 0xca, caps);
                cap_offset = size;
            }
        }
        std::memcpy(b, &argsz, 4);
        std::memcpy(b + 4, &flags, 4);
        std::memcpy(b + off_at, &cap_offset, 4);
        b[8] = 9;  // num_regions, or the region's index left as it was
        return 0;
    }
    int call(unsigned long cmd, void* arg) override {
        auto* b = static_cast<uint8_t*>(arg);
        switch (cmd) {
            case VFIO_DEVICE_GET_INFO:
                return info(b, 16, 24, VFIO_DEVICE_FLAGS_CAPS, 16);
            case VFIO_DEVICE_GET_REGION_INFO:
                return info(b, 32, 32, VFIO_REGION_INFO_FLAG_CAPS, 12);
            case VFIO_DEVICE_GET_IRQ_INFO: {
                uint32_t argsz;
                std::memcpy(&argsz, b, 4);
                argszs.push_back(argsz);
                std::memcpy(b + 12, "\x01\0\0\0", 4);  // count
                return 0;
            }
            case VFIO_DEVICE_FEATURE:
                return feature(b);
            default:
                return -ENOTTY;
        }
    }
    // MIGRATION and MIG_DATA_SIZE fill 8 bytes of data; LOW_POWER_ENTRY
    // takes none.
    int feature(uint8_t* b) {
        uint32_t argsz, flags;
        std::memcpy(&argsz, b, 4);
        std::memcpy(&flags, b + 4, 4);
        argszs.push_back(argsz);
        switch (flags & VFIO_DEVICE_FEATURE_MASK) {
            case VFIO_DEVICE_FEATURE_MIGRATION:
            case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
                if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0;
                if (argsz < 16) return -EINVAL;
                std::memset(b + 8, 0x5a, 8);
                return 0;
            case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
                return 0;
            default:
                return -ENOTTY;
        }
    }
    int query(unsigned long cmd, void* arg) override { return call(cmd, arg); }
    bool tracks_dma() override { return false; }
    int64_t pread(void*, uint64_t, uint64_t) override { return -EINVAL; }
    int64_t pwrite(const void*, uint64_t, uint64_t) override { return -EINVAL; }
    int32_t take_fd(int32_t) override { return -1; }
    void end_call() override {}
    Dependent dependent(uint16_t, uint8_t, uint8_t) override { return {0, 0, false}; }
    int hot_reset(const std::vector<uint32_t>&) override { return 0; }
};

constexpr uint64_t kAt = 0x40000;

// The caller's struct of `len` bytes at kAt, a read-only page right after.
std::vector<uint8_t>& layout(test::FakeMemory& mem, size_t len, uint32_t argsz,
                             uint32_t word1 = 0) {
    mem.map_at(kAt, len);
    mem.map_at(kAt + len, 4096);
    mem.protect(kAt + len);
    auto& s = mem.region(kAt);
    std::memset(s.data(), 0xee, len);  // the caller's own bytes
    std::memcpy(s.data(), &argsz, 4);
    std::memcpy(s.data() + 4, &word1, 4);
    return s;
}

}  // namespace

TEST_CASE("forwarded info commands copy the kernel's minsz in and its struct out", "[forward]") {
    struct Row {
        uint32_t cmd, in, out_at_huge;
    };
    // GET_INFO writes min(argsz, sizeof) = 24; the others their minsz.
    const Row rows[] = {{VFIO_DEVICE_GET_INFO, 16, 24},
                        {VFIO_DEVICE_GET_REGION_INFO, 32, 32},
                        {VFIO_DEVICE_GET_IRQ_INFO, 16, 16}};
    for (const Row& r : rows) {
        for (uint32_t argsz : {r.in, r.in + 100, 0xffffffffu}) {
            INFO("cmd " << std::hex << r.cmd << " argsz " << argsz);
            KernelDevice dev;
            test::FakeMemory mem;
            // Room for what the kernel writes, and nothing past it.
            const size_t len = std::max(r.in, std::min(argsz, r.out_at_huge));
            auto& s = layout(mem, len, argsz);
            REQUIRE(dispatch::vfio_forward_ioctl(dev, r.cmd, kAt, mem) == 0);
            uint32_t back;
            std::memcpy(&back, s.data(), 4);
            CHECK(back == argsz);  // no chain: argsz stays the caller's
            REQUIRE(!dev.argszs.empty());
            CHECK(dev.argszs.back() <= std::max(r.in, r.out_at_huge));
            auto fp = dispatch::vfio_forward_footprint(dev, r.cmd, kAt, mem);
            REQUIRE(fp.in.size() == 1);
            CHECK(fp.in[0].len == r.in);
            REQUIRE(fp.out.size() == 1);
            CHECK(fp.out[0].len == std::min<uint64_t>(len, r.out_at_huge));
        }
    }
    // Less than minsz is the kernel's EINVAL, with nothing written.
    KernelDevice dev;
    test::FakeMemory mem;
    auto& s = layout(mem, 16, 12);
    const std::vector<uint8_t> before = s;
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_INFO, kAt, mem) == -EINVAL);
    CHECK(s == before);
}

TEST_CASE("a forwarded capability chain is copied only where argsz has room for it", "[forward]") {
    for (uint32_t cmd : {VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO}) {
        const uint32_t size = cmd == VFIO_DEVICE_GET_INFO ? 24 : 32;
        const uint32_t off_at = cmd == VFIO_DEVICE_GET_INFO ? 16 : 12;
        KernelDevice dev;
        dev.caps = 16;
        // Room for the chain, argsz far past it: the chain follows the
        // struct, argsz stays the caller's, the page after is not touched.
        test::FakeMemory mem;
        auto& s = layout(mem, size + 16, 0xffffffffu);
        REQUIRE(dispatch::vfio_forward_ioctl(dev, cmd, kAt, mem) == 0);
        uint32_t argsz, cap_offset;
        std::memcpy(&argsz, s.data(), 4);
        std::memcpy(&cap_offset, s.data() + off_at, 4);
        CHECK(argsz == 0xffffffffu);
        CHECK(cap_offset == size);
        CHECK(s[size] == 0xca);
        CHECK(s[size + 15] == 0xca);
        auto fp = dispatch::vfio_forward_footprint(dev, cmd, kAt, mem);
        REQUIRE(fp.out.size() == 2);
        CHECK(fp.out[0].addr == kAt + size);  // the chain first, as the kernel
        CHECK(fp.out[0].len == 16);
        // No room: the kernel says how much it needs, and writes no chain.
        test::FakeMemory small;
        auto& t = layout(small, size + 8, size + 8);
        CHECK(dispatch::vfio_forward_footprint(dev, cmd, kAt, small).out.size() == 1);
        REQUIRE(dispatch::vfio_forward_ioctl(dev, cmd, kAt, small) == 0);
        std::memcpy(&argsz, t.data(), 4);
        std::memcpy(&cap_offset, t.data() + off_at, 4);
        CHECK(argsz == size + 16);
        CHECK(cap_offset == 0);
        CHECK(t[size] == 0xee);
    }
}

TEST_CASE("a forwarded feature copies its data as the kernel, past a huge argsz", "[forward]") {
    for (uint32_t feature : {VFIO_DEVICE_FEATURE_MIGRATION, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE}) {
        KernelDevice dev;
        test::FakeMemory mem;
        auto& s = layout(mem, 16, 0xffffffffu, VFIO_DEVICE_FEATURE_GET | feature);
        REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, kAt, mem) == 0);
        CHECK(s[8] == 0x5a);
        CHECK(s[15] == 0x5a);
        CHECK(dev.argszs.back() == 16);  // the kernel decides as it would for the caller
        auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, kAt, mem);
        REQUIRE(fp.out.size() == 1);
        CHECK(fp.out[0].addr == kAt + 8);
        CHECK(fp.out[0].len == 8);
    }
    // A SET without data reads and writes nothing past the header.
    KernelDevice dev;
    test::FakeMemory mem;
    layout(mem, 8, 0xffffffffu, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY);
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, kAt, mem) == 0);
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, kAt, mem);
    CHECK(fp.in.size() == 1);
    CHECK(fp.out.empty());
    // A probe neither.
    test::FakeMemory probe;
    auto& p =
        layout(probe, 16, 0xffffffffu,
               VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION);
    CHECK(dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, kAt, probe).out.empty());
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, kAt, probe) == 0);
    CHECK(p[8] == 0xee);
}

TEST_CASE("forwarded hot reset info and SET_IRQS read only what the kernel reads", "[forward]") {
    KernelDevice dev;
    test::FakeMemory mem;
    // The kernel reads hot reset info's 12-byte header only.
    layout(mem, 12, 0xffffffffu);
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, kAt, mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == 12);
    // SET_IRQS whose argsz does not cover its data: the kernel reads none.
    vfio_irq_set hdr{20 + 2, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 2};
    test::FakeMemory irq;
    irq.map_at(kAt, sizeof(hdr));
    std::memcpy(irq.region(kAt).data(), &hdr, sizeof(hdr));
    fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_SET_IRQS, kAt, irq);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == sizeof(hdr));
}
