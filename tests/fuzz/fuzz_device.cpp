// libFuzzer target over the device node's commands, differential between
// the two ways the transport reaches a caller's memory (as fuzz_dispatch
// does for /dev/ioasid): an edu bound and attached to an IOAS that maps the
// caller's array page, driven by sequences of device ioctls. Both sides must
// give the same results, leave the caller's memory (including what the
// edu's DMA wrote into it) byte for byte the same, and signal the same
// interrupts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dispatch/iommufd.h"
#include "fuzz/retry_replay.h"
#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"
#include "unit/device_fixture.h"

namespace {

using namespace ioasid;

using test::kArrayAt;
using test::kArrayLen;
using test::kStructAt;
using test::kStructLen;
constexpr uint64_t kIova = 0x100000;
constexpr int32_t kFirstEventfd = 3, kEventfds = 4;

struct Side {
    test::FakeMemory mem;
    test::Backend be;
    test::FakeClientMemory client{mem};
    iommu::DeviceDma dma{
        [this] {
            return iommu::DeviceDma::Binding{be.is_bound ? &be.ctx : nullptr, be.dev_id};
        },
        client};

    Side() {
        mem.map_at(kStructAt, kStructLen);
        mem.map_at(kArrayAt, kArrayLen);
        be.edu.set_dma(&dma);
        for (int32_t fd = kFirstEventfd; fd < kFirstEventfd + kEventfds; ++fd)
            be.fds[fd] = std::make_shared<test::Counter>();
        uint32_t dev = 0;
        if (be.bind(test::kIommufd, dev)) abort();
        // The array page mapped for the edu's DMA, through the decoder.
        dispatch::Caller caller;
        caller.tgid = [] { return 42u; };
        iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
        uint64_t at = mem.put(alloc);
        if (dispatch::iommufd_ioctl(be.ctx, IOMMU_IOAS_ALLOC, at, mem, caller)) abort();
        const uint32_t ioas = mem.get<iommu_ioas_alloc>(at).out_ioas_id;
        iommu_ioas_map map{sizeof(map), 7, ioas, 0, kArrayAt, kArrayLen, kIova};
        if (dispatch::iommufd_ioctl(be.ctx, IOMMU_IOAS_MAP, mem.put(map), mem, caller)) abort();
        uint32_t pt = ioas;
        if (be.attach(pt)) abort();
    }
    std::vector<uint8_t>& s() { return mem.region(kStructAt); }
    std::vector<uint8_t>& a() { return mem.region(kArrayAt); }
    std::vector<int> irq_counts() const {
        std::vector<int> c;
        for (const auto& [fd, counter] : be.fds) c.push_back(counter->count);
        return c;
    }
};

const uint32_t kCommands[] = {VFIO_DEVICE_BIND_IOMMUFD,
                              VFIO_DEVICE_ATTACH_IOMMUFD_PT,
                              VFIO_DEVICE_DETACH_IOMMUFD_PT,
                              VFIO_DEVICE_FEATURE,
                              VFIO_DEVICE_GET_INFO,
                              VFIO_DEVICE_GET_REGION_INFO,
                              VFIO_DEVICE_GET_IRQ_INFO,
                              VFIO_DEVICE_SET_IRQS,
                              VFIO_DEVICE_RESET,
                              VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
                              VFIO_DEVICE_PCI_HOT_RESET,
                              VFIO_DEVICE_IOEVENTFD,
                              VFIO_DEVICE_IOEVENTFD,
                              IOASIDD_REGION_RW,
                              IOASIDD_REGION_RW,
                              IOASIDD_REGION_RW,
                              _IO(VFIO_TYPE, 0x7f)};

// The fast region commands, which the unknown command's slot stands for when
// the selector's top bit is set (so that earlier inputs keep their meaning).
const uint32_t kFastCommands[] = {IOASIDD_REGION_READ_FAST(0, 2),  IOASIDD_REGION_READ_FAST(7, 2),
                                  IOASIDD_REGION_READ_FAST(7, 0),  IOASIDD_REGION_WRITE_FAST(0, 2),
                                  IOASIDD_REGION_WRITE_FAST(7, 1), IOASIDD_REGION_WRITE_FAST(1, 2),
                                  IOASIDD_REGION_FAST_HELD};

// A fast command's argument from the struct's bytes: an offset in the
// region's first 512 bytes, a write's value above it.
uint64_t fast_argument(const std::vector<uint8_t>& s) {
    uint32_t value;
    std::memcpy(&value, s.data() + 4, 4);
    return (s[0] | (s[1] & 1u) << 8) | static_cast<uint64_t>(value) << 32;
}

// Makes the random struct plausible often enough to reach deep paths: a
// sane argsz, REGION_RW aimed at BAR0 or config space with its data in the
// array page, SET_IRQS data naming the side's eventfds.
void shape(uint32_t cmd, uint8_t sel, std::vector<uint8_t>& s) {
    if (sel & 0x20) {
        uint32_t argsz = 16 + 4 * (sel & 0x0f);
        std::memcpy(s.data(), &argsz, 4);
    }
    if (cmd == IOASIDD_REGION_RW && (sel & 0x80)) {
        uint64_t offset = (sel & 0x40 ? IOASID_VFIO_PCI_INDEX_TO_OFFSET(7) : 0) | (s[8] & 0xfc) |
                          (sel & 0x10 ? 0x80 : 0);
        uint64_t length = 1u << (s[16] % 4), data = kArrayAt + s[24];
        std::memcpy(s.data() + 8, &offset, 8);
        std::memcpy(s.data() + 16, &length, 8);
        std::memcpy(s.data() + 24, &data, 8);
    }
    if (cmd == VFIO_DEVICE_IOEVENTFD && (sel & 0x80)) {
        uint32_t flags = 1u << (s[4] % 4);
        uint64_t offset = s[8] & 0xfc;
        int32_t fd = s[24] & 0x80 ? -1 : kFirstEventfd + s[24] % kEventfds;
        std::memcpy(s.data() + 4, &flags, 4);
        std::memcpy(s.data() + 8, &offset, 8);
        std::memcpy(s.data() + 24, &fd, 4);
    }
    if (cmd == VFIO_DEVICE_SET_IRQS && (sel & 0x80))
        for (size_t i = 20; i + 4 <= 36; i += 4) {
            int32_t fd = kFirstEventfd + (s[i] % (kEventfds + 1)) - (s[i] & 0x80 ? 4 : 0);
            std::memcpy(s.data() + i, &fd, 4);
        }
}

void report(uint32_t cmd, int direct, int retry, const std::vector<uint8_t>& s) {
    std::fprintf(stderr, "divergence: cmd %#x direct %d retry %d, struct:", cmd, direct, retry);
    for (size_t i = 0; i < 40; ++i) std::fprintf(stderr, " %02x", s[i]);
    std::fprintf(stderr, "\n");
    abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Side direct, retry;
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t sel = data[pos], len = data[pos + 1];
        pos += 2;
        size_t n = std::min<size_t>(len, size - pos);
        uint32_t cmd = kCommands[(sel ^ len) % (sizeof(kCommands) / sizeof(kCommands[0]))];
        if (cmd == _IO(VFIO_TYPE, 0x7f) && (sel & 0x80))
            cmd = kFastCommands[len % (sizeof(kFastCommands) / sizeof(kFastCommands[0]))];
        std::vector<uint8_t>& s = direct.s();
        std::fill(s.begin(), s.end(), 0);
        std::memcpy(s.data(), data + pos, std::min(n, kStructLen));
        pos += n;
        shape(cmd, sel, s);
        retry.s() = s;
        const bool fast = _IOC_TYPE(cmd) == IOASIDD_TYPE && _IOC_NR(cmd) >= 0x40;
        const uint64_t arg = fast ? fast_argument(s) : kStructAt;

        int rc_direct = dispatch::vfio_device_ioctl(direct.be, cmd, arg, direct.mem);
        int rc_retry = -EFAULT;
        test::replay_retry(
            [&](dispatch::UserMemory& known) {
                return dispatch::vfio_device_footprint(retry.be, cmd, arg, known);
            },
            [&](dispatch::UserMemory& run) {
                return dispatch::vfio_device_ioctl(retry.be, cmd, arg, run);
            },
            retry.mem, rc_retry);
        if (rc_retry == -ENOMEM) return 0;  // beyond one retry: the sides part ways
        if (rc_direct != rc_retry) report(cmd, rc_direct, rc_retry, s);
        if (rc_direct == -EFAULT) {
            retry.s() = direct.s();
            retry.a() = direct.a();
        } else if (direct.s() != retry.s() || direct.a() != retry.a()) {
            abort();
        }
        if (direct.irq_counts() != retry.irq_counts()) abort();
        // The user signals an eventfd: the ioeventfds watching it write.
        if (sel & 0x40) {
            const int32_t fd = kFirstEventfd + len % kEventfds;
            direct.be.signal(fd);
            retry.be.signal(fd);
        }
    }
    return 0;
}
