// libFuzzer target over a forwarded device's commands, differential between
// direct access to the caller's memory and the CUSE retry path (as
// fuzz_device does for emulated devices). Both the caller's structs and the
// real device's answers come from the input: a device answer that claims
// more than the buffer holds (a hot reset's count, an argsz) must not take
// the daemon outside it (ASan), and both sides must leave the caller's
// memory the same and tell the device the same things.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/uio.h>
#include <unistd.h>

#include "dispatch/vfio_forward.h"
#include "fuzz/retry_replay.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "unit/fake_memory.h"

namespace {

using namespace ioasid;

using test::kArrayAt;
using test::kArrayLen;
using test::kStructAt;
using test::kStructLen;

// The real device: its answers are read from a byte stream; what it was
// told is logged, for the two sides to compare.
struct FuzzDevice final : dispatch::ForwardTarget {
    const uint8_t* answers = nullptr;
    size_t left = 0;
    std::vector<uint8_t> bar = std::vector<uint8_t>(256);
    std::vector<uint64_t> log;

    uint8_t next() {
        if (!left) return 0;
        --left;
        return *answers++;
    }
    int error() { return -static_cast<int>(1 + next() % 40); }

    // DMA logging as vfio_ioctl_device_feature_logging_start() does it: ENOTTY
    // without log_ops, the ranges read from the pointer it was given (the
    // daemon's page before a guard page), EFAULT at the first it cannot read.
    bool tracks = false;
    bool tracks_dma() override { return tracks; }
    int logging(const uint8_t* b, uint32_t argsz, uint32_t flags) {
        if (!tracks) return -ENOTTY;
        const uint32_t ops = flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);
        if ((flags & VFIO_DEVICE_FEATURE_MASK) != VFIO_DEVICE_FEATURE_DMA_LOGGING_START ||
            ops != VFIO_DEVICE_FEATURE_SET || (flags & VFIO_DEVICE_FEATURE_PROBE) ||
            argsz < 8 + sizeof(vfio_device_feature_dma_logging_control))
            return 1;  // not a START that reads its ranges: answered from the input
        vfio_device_feature_dma_logging_control c;
        std::memcpy(&c, b + 8, sizeof(c));
        if (!c.num_ranges) return -EINVAL;
        if (c.num_ranges > VFIO_DEVICE_DMA_LOGGING_MAX_RANGES) return -E2BIG;
        for (uint32_t i = 0; i < c.num_ranges; ++i) {
            vfio_device_feature_dma_logging_range r;
            iovec local{&r, sizeof(r)};
            iovec remote{reinterpret_cast<void*>(c.ranges + i * sizeof(r)), sizeof(r)};
            if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != sizeof(r)) return -EFAULT;
            log.push_back(r.iova);
            log.push_back(r.length);
        }
        return 1;
    }

    int call(unsigned long cmd, void* arg) override {
        log.push_back(cmd);
        auto* b = static_cast<uint8_t*>(arg);
        uint32_t argsz = 0;
        if (arg) std::memcpy(&argsz, b, 4);
        log.push_back(argsz);
        if (cmd == VFIO_DEVICE_FEATURE) {
            uint32_t flags;
            std::memcpy(&flags, b + 4, 4);
            const uint32_t feature = flags & VFIO_DEVICE_FEATURE_MASK;
            if (feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_START ||
                feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT)
                if (int rc = logging(b, argsz, flags); rc <= 0) return rc;
        }
        if (next() & 1) return error();
        switch (cmd) {
            case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
                return hot_reset_info(b, argsz);
            case VFIO_DEVICE_GET_INFO:
                return info(b, argsz, 16, 24, true);
            case VFIO_DEVICE_GET_REGION_INFO:
                return info(b, argsz, 32, 32, true);
            case VFIO_DEVICE_GET_IRQ_INFO:
                return info(b, argsz, 16, 16, false);
            case VFIO_DEVICE_FEATURE:
                return feature_data(b, argsz);
            case VFIO_DEVICE_PCI_HOT_RESET: {
                vfio_pci_hot_reset hdr;
                std::memcpy(&hdr, b, sizeof(hdr));
                for (uint32_t i = 0; i < hdr.count; ++i) log.push_back(b[12 + 4 * i]);
                return 0;
            }
            case VFIO_DEVICE_IOEVENTFD: {
                vfio_device_ioeventfd e;
                std::memcpy(&e, b, sizeof(e));
                log.insert(log.end(), {e.flags, e.offset, e.data, static_cast<uint32_t>(e.fd)});
                return 0;
            }
            default:
                return 0;
        }
    }
    // What vfio-pci writes: min(argsz, size) of the struct, and the chain
    // when argsz has room for it, else the room it needs in argsz.
    uint32_t caps = 0;
    // The room a chain needs, as the kernel says it for an argsz of the
    // struct alone: answered without taking an answer from the input or
    // logging it, as it is not one of the caller's calls.
    int query(unsigned long cmd, void* arg) override {
        if (cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)
            return reach(static_cast<uint8_t*>(arg));
        const bool region = cmd == VFIO_DEVICE_GET_REGION_INFO;
        if (!caps || (!region && cmd != VFIO_DEVICE_GET_INFO)) return 0;
        const uint32_t needed = (region ? 32 : 24) + caps;
        const uint32_t flag = region ? VFIO_REGION_INFO_FLAG_CAPS : VFIO_DEVICE_FLAGS_CAPS;
        std::memcpy(arg, &needed, 4);
        std::memcpy(static_cast<uint8_t*>(arg) + 4, &flag, 4);
        return 0;
    }
    int info(uint8_t* b, uint32_t argsz, uint32_t in, uint32_t size, bool chain) {
        if (argsz < in) return -EINVAL;
        for (uint32_t i = 8; i < std::min(argsz, size); ++i) b[i] = next();
        if (chain && caps && argsz >= size + caps) {
            for (uint32_t i = 0; i < caps; ++i) b[size + i] = next();
        } else if (chain && caps) {
            const uint32_t needed = size + caps;
            std::memcpy(b, &needed, 4);
        }
        return 0;
    }
    // A feature's data as vfio_check_feature() lets it be written: the
    // GET features that fill 8 bytes (MIGRATION, MIG_DEVICE_STATE,
    // MIG_DATA_SIZE).
    int feature_data(uint8_t* b, uint32_t argsz) {
        uint32_t flags;
        std::memcpy(&flags, b + 4, 4);
        const uint32_t feature = flags & VFIO_DEVICE_FEATURE_MASK;
        const bool fills = feature == VFIO_DEVICE_FEATURE_MIGRATION ||
                           feature == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE ||
                           feature == VFIO_DEVICE_FEATURE_MIG_DATA_SIZE;
        if (fills && (flags & VFIO_DEVICE_FEATURE_GET) && !(flags & VFIO_DEVICE_FEATURE_PROBE) &&
            argsz >= 16)
            for (uint32_t i = 8; i < 16; ++i) b[i] = next();
        return 0;
    }
    // The devices a reset reaches, as the daemon asks for itself: fixed
    // for the input (none: no slot or bus reset), as a real bus's are, so
    // that the retry path's footprint and the call see the same.
    uint32_t reset_reach = 0;
    int reach(uint8_t* b) {
        if (!reset_reach) return -ENODEV;
        vfio_pci_hot_reset_info hdr;
        std::memcpy(&hdr, b, sizeof(hdr));
        const uint32_t room = (hdr.argsz - 12) / 8;
        hdr.count = reset_reach;
        std::memcpy(b, &hdr, sizeof(hdr));
        if (reset_reach > room) return -ENOSPC;
        for (uint32_t i = 0; i < reset_reach; ++i) {
            const vfio_pci_dependent_device d{{0}, 0, 1, static_cast<uint8_t>(i * 8)};
            std::memcpy(b + 12 + 8 * i, &d, 8);
        }
        return 0;
    }
    // As the kernel: ENOSPC with the count when it does not fit.
    int hot_reset_info(uint8_t* b, uint32_t argsz) {
        if (argsz < 12) return -EINVAL;
        vfio_pci_hot_reset_info hdr;
        hdr.argsz = argsz;
        hdr.flags = 0;
        hdr.count = next() % 24u;
        const uint32_t room = (argsz - 12) / 8;
        std::memcpy(b, &hdr, sizeof(hdr));
        if (hdr.count > room) return -ENOSPC;
        for (uint32_t i = 0; i < hdr.count * 8; ++i) b[12 + i] = next();
        // A lying device: a count past the room it was given.
        if (next() == 0xff) {
            hdr.count = room + 1 + next();
            std::memcpy(b, &hdr, sizeof(hdr));
        }
        return 0;
    }
    int64_t pread(void* buf, uint64_t len, uint64_t off) override {
        if (off > bar.size() || len > bar.size() - off) return -EINVAL;
        if (len) std::memcpy(buf, bar.data() + off, len);
        return static_cast<int64_t>(len);
    }
    int64_t pwrite(const void* buf, uint64_t len, uint64_t off) override {
        if (off > bar.size() || len > bar.size() - off) return -EINVAL;
        if (len) std::memcpy(bar.data() + off, buf, len);
        return static_cast<int64_t>(len);
    }
    int32_t take_fd(int32_t user_fd) override { return user_fd < 64 ? 1000 + user_fd : -1; }
    void end_call() override { log.push_back(~0ull); }
    Dependent dependent(uint16_t, uint8_t bus, uint8_t devfn) override {
        log.push_back(bus << 8 | devfn);
        const uint8_t a = next();
        const uint8_t g = next();
        return {a % 4 ? a % 8u : uint32_t(VFIO_PCI_DEVID_NOT_OWNED), g % 4u, g % 8 != 7};
    }
    // Opened through its group: the group files a cookie names, from the
    // cookie itself.
    bool grouped = false;
    bool through_group() const override { return grouped; }
    int group_file(uint64_t cookie, uint32_t& group) override {
        log.push_back(cookie);
        if (cookie % 5 == 0) return -EBADF;
        if (cookie % 5 == 1) return -EINVAL;
        group = static_cast<uint32_t>(cookie % 4);
        return 0;
    }
    int hot_reset(const std::vector<uint32_t>& groups) override {
        for (size_t i = 0; i < groups.size(); ++i)
            for (size_t j = 0; j < i; ++j)
                if (groups[i] == groups[j]) abort();  // each group is passed once
        log.insert(log.end(), groups.begin(), groups.end());
        return next() & 1 ? error() : 0;
    }
};

struct Side {
    test::FakeMemory mem;
    FuzzDevice dev;
    Side() {
        mem.map_at(kStructAt, kStructLen);
        mem.map_at(kArrayAt, kArrayLen);
    }
    std::vector<uint8_t>& s() { return mem.region(kStructAt); }
    std::vector<uint8_t>& a() { return mem.region(kArrayAt); }
};

const uint32_t kCommands[] = {VFIO_DEVICE_GET_INFO,
                              VFIO_DEVICE_GET_REGION_INFO,
                              VFIO_DEVICE_GET_IRQ_INFO,
                              VFIO_DEVICE_FEATURE,
                              VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
                              VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
                              VFIO_DEVICE_PCI_HOT_RESET,
                              VFIO_DEVICE_PCI_HOT_RESET,
                              IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS,
                              VFIO_DEVICE_IOEVENTFD,
                              VFIO_DEVICE_SET_IRQS,
                              VFIO_DEVICE_RESET,
                              IOASIDD_REGION_RW,
                              _IO(VFIO_TYPE, 0x7f)};

// A sane argsz often enough to reach past the first check; REGION_RW's
// data in the array page.
void shape(uint32_t cmd, uint8_t sel, std::vector<uint8_t>& s) {
    if (sel & 0x20) {
        uint32_t argsz = 8 + 4 * (sel & 0x1f);
        std::memcpy(s.data(), &argsz, 4);
    }
    if (cmd == VFIO_DEVICE_PCI_HOT_RESET && (sel & 0x40)) std::memset(s.data() + 4, 0, 8);
    if (cmd == IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS && (sel & 0x40)) {
        // ioasidd's header passes; the count a few cookies.
        const uint32_t count = sel & 3, argsz = 24 + 8 * count, vfio_argsz = 12 + 4 * count;
        std::memcpy(s.data(), &argsz, 4);
        std::memset(s.data() + 4, 0, 4);
        std::memcpy(s.data() + 8, &vfio_argsz, 4);
        std::memset(s.data() + 12, 0, 4);
        std::memcpy(s.data() + 16, &count, 4);
    }
    if (cmd == IOASIDD_REGION_RW && (sel & 0x80)) {
        uint64_t offset = s[8], length = 1u << (s[16] % 4), data = kArrayAt + s[24];
        std::memcpy(s.data() + 8, &offset, 8);
        std::memcpy(s.data() + 16, &length, 8);
        std::memcpy(s.data() + 24, &data, 8);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Side direct, retry;
    // Whether the real device tracks DMA: the input's length says, so that
    // every input keeps its meaning.
    direct.dev.tracks = retry.dev.tracks = size % 2;
    // And the capability chain GET_INFO and GET_REGION_INFO append.
    direct.dev.caps = retry.dev.caps = static_cast<uint32_t>(size / 2 % 3 * 8);
    // And whether the caller's file was opened through its group.
    direct.dev.grouped = retry.dev.grouped = size / 6 % 2;
    // And how many devices its reset reaches.
    direct.dev.reset_reach = retry.dev.reset_reach = static_cast<uint32_t>(size / 12 % 4);
    size_t pos = 0;
    while (pos + 3 <= size) {
        const uint8_t sel = data[pos], len = data[pos + 1], answers = data[pos + 2];
        pos += 3;
        const size_t n = std::min<size_t>(len, size - pos);
        const uint32_t cmd = kCommands[(sel ^ len) % (sizeof(kCommands) / sizeof(kCommands[0]))];
        std::vector<uint8_t>& s = direct.s();
        std::fill(s.begin(), s.end(), 0);
        std::memcpy(s.data(), data + pos, std::min(n, kStructLen));
        pos += n;
        shape(cmd, sel, s);
        retry.s() = s;
        const size_t m = std::min<size_t>(answers, size - pos);
        for (Side* side : {&direct, &retry}) {
            side->dev.answers = data + pos;
            side->dev.left = m;
        }
        pos += m;

        int rc_direct = dispatch::vfio_forward_ioctl(direct.dev, cmd, kStructAt, direct.mem);
        int rc_retry = -EFAULT;
        test::replay_retry(
            [&](dispatch::UserMemory& known) {
                return dispatch::vfio_forward_footprint(retry.dev, cmd, kStructAt, known);
            },
            [&](dispatch::UserMemory& run) {
                return dispatch::vfio_forward_ioctl(retry.dev, cmd, kStructAt, run);
            },
            retry.mem, rc_retry);
        if (rc_retry == -ENOMEM) return 0;  // beyond one retry: the sides part ways
        if (rc_direct != rc_retry) {
            std::fprintf(stderr, "divergence: cmd %#x direct %d retry %d\n", cmd, rc_direct,
                         rc_retry);
            abort();
        }
        if (rc_direct == -EFAULT) {  // the sides may have failed at different points
            retry.s() = direct.s();
            retry.a() = direct.a();
            retry.dev.log = direct.dev.log;
            retry.dev.bar = direct.dev.bar;
        } else if (direct.s() != retry.s() || direct.a() != retry.a()) {
            abort();
        }
        if (direct.dev.log != retry.dev.log || direct.dev.bar != retry.dev.bar) abort();
    }
    return 0;
}
