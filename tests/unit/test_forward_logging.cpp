// A forwarded device's DMA logging: the ranges and the bitmap its data name
// by address reach the real device through the daemon's own buffers, never
// at an address the caller chose. The fake device reads and writes those
// buffers as the kernel would: with copies that fault (process_vm_readv on
// itself) rather than crash.
#include <sys/uio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "dispatch/vfio_forward.h"
#include "ioasid/vfio.h"
#include "unit/fake_memory.h"

using namespace ioasid;

namespace {

using Control = vfio_device_feature_dma_logging_control;
using Range = vfio_device_feature_dma_logging_range;
using Report = vfio_device_feature_dma_logging_report;
constexpr uint32_t kStart = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
constexpr uint32_t kReport = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;

// copy_from_user in the daemon's own address space.
bool copy_in(uint64_t addr, void* dst, size_t len) {
    iovec local{dst, len}, remote{reinterpret_cast<void*>(addr), len};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

struct LoggingDevice : dispatch::ForwardTarget {
    std::vector<uint32_t> argszs;
    std::vector<Range> ranges;  // what START read
    std::vector<uint64_t> ranges_at, bitmaps_at;
    std::vector<Report> reports;
    uint64_t dirty_every = 3;  // every third page is dirty

    int call(unsigned long cmd, void* arg) override {
        if (cmd != VFIO_DEVICE_FEATURE) return -ENOTTY;
        auto* b = static_cast<uint8_t*>(arg);
        uint32_t argsz, flags;
        std::memcpy(&argsz, b, 4);
        std::memcpy(&flags, b + 4, 4);
        argszs.push_back(argsz);
        // vfio_check_feature(): no data read past what argsz covers.
        switch (flags & VFIO_DEVICE_FEATURE_MASK) {
            case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
                return argsz < 8 + sizeof(Control) ? -EINVAL : start(b + 8);
            case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
                return argsz < 8 + sizeof(Report) ? -EINVAL : report(b + 8);
            default:
                return -ENOTTY;
        }
    }
    // vfio_ioctl_device_feature_logging_start(): EFAULT at the first range
    // it cannot read, EINVAL for one not aligned to the page size; the
    // driver may round the page size up.
    int start(uint8_t* data) {
        Control c;
        std::memcpy(&c, data, sizeof(c));
        ranges_at.push_back(c.ranges);
        for (uint32_t i = 0; i < c.num_ranges; i++) {
            Range r;
            if (!copy_in(c.ranges + i * sizeof(Range), &r, sizeof(r))) return -EFAULT;
            if (r.iova % c.page_size || r.length % c.page_size) return -EINVAL;
            ranges.push_back(r);
        }
        c.page_size = 8192;
        std::memcpy(data, &c, sizeof(c));
        return 0;
    }
    // Sets (never clears) the bits of the dirty pages.
    int report(uint8_t* data) {
        Report r;
        std::memcpy(&r, data, sizeof(r));
        reports.push_back(r);
        bitmaps_at.push_back(r.bitmap);
        if (r.page_size < 4096 || (r.page_size & (r.page_size - 1))) return -EINVAL;
        auto* words = reinterpret_cast<uint64_t*>(r.bitmap);
        for (uint64_t bit = 0; bit * r.page_size < r.length; bit++)
            if ((r.iova / r.page_size + bit) % dirty_every == 0)
                words[bit / 64] |= 1ull << (bit % 64);
        return 0;
    }
    int64_t pread(void*, uint64_t, uint64_t) override { return -EINVAL; }
    int64_t pwrite(const void*, uint64_t, uint64_t) override { return -EINVAL; }
    int32_t take_fd(int32_t) override { return -1; }
    void end_call() override {}
    Dependent dependent(uint16_t, uint8_t, uint8_t) override { return {0, 0, false}; }
    int hot_reset(const std::vector<uint32_t>&) override { return 0; }
    bool tracks = true;
    bool tracks_dma() override { return tracks; }
    int query(unsigned long cmd, void* arg) override { return call(cmd, arg); }
};

// VFIO_DEVICE_FEATURE's header and `data` in the caller's memory.
template <typename T>
uint64_t feature(test::FakeMemory& mem, uint32_t flags, const T& data) {
    std::vector<uint8_t> b(8 + sizeof(T));
    const uint32_t argsz = static_cast<uint32_t>(b.size());
    std::memcpy(b.data(), &argsz, 4);
    std::memcpy(b.data() + 4, &flags, 4);
    std::memcpy(b.data() + 8, &data, sizeof(T));
    return mem.put_bytes(b.data(), b.size());
}

}  // namespace

TEST_CASE("forwarded DMA_LOGGING_START reads the caller's ranges into the daemon's buffer",
          "[forward]") {
    LoggingDevice dev;
    test::FakeMemory mem;
    const Range user[2] = {{0x100000, 0x4000}, {0x800000, 0x2000}};
    const uint64_t ranges = mem.put_bytes(user, sizeof(user));
    const uint64_t at = feature(mem, kStart, Control{4096, 2, 0, ranges});
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, at, mem) == 0);
    REQUIRE(dev.ranges.size() == 2);
    CHECK(dev.ranges[1].iova == 0x800000);
    CHECK(dev.ranges_at[0] != ranges);  // the daemon's copy, not the caller's address
    // The caller's struct comes back with its own address and the driver's page size.
    Control back = mem.get<Control>(at + 8);
    CHECK(back.ranges == ranges);
    CHECK(back.page_size == 8192);
    // Ranges that end early: EFAULT where the kernel would fault, after the
    // checks of those before it.
    const uint64_t one = mem.put(user[0]);
    dev.ranges.clear();
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE,
                                       feature(mem, kStart, Control{4096, 3, 0, one}),
                                       mem) == -EFAULT);
    CHECK(dev.ranges.size() == 1);
    const Range odd[1] = {{0x100800, 0x1000}};
    CHECK(dispatch::vfio_forward_ioctl(
              dev, VFIO_DEVICE_FEATURE,
              feature(mem, kStart, Control{4096, 2, 0, mem.put_bytes(odd, sizeof(odd))}),
              mem) == -EINVAL);
    // The footprint carries the header, the control struct and the ranges
    // on the retry path, and the control struct back.
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, at, mem);
    REQUIRE(fp.in.size() == 3);
    CHECK(fp.in[0].len == 8);
    CHECK(fp.in[1].len == sizeof(Control));
    CHECK(fp.in[2].addr == ranges);
    CHECK(fp.in[2].len == sizeof(user));
    REQUIRE(fp.out.size() == 1);
    CHECK(fp.out[0].addr == at + 8);
    CHECK(fp.out[0].len == sizeof(Control));
}

TEST_CASE("forwarded DMA_LOGGING_REPORT fills the caller's bitmap through the daemon's, in pieces",
          "[forward]") {
    LoggingDevice dev;
    test::FakeMemory mem;
    // 1M pages: 16384 words, two pieces of 8192.
    const uint64_t pages = 1 << 20, page = 4096, iova = 1ull << 32;
    std::vector<uint64_t> bitmap(pages / 64, 0);
    bitmap[0] = 1ull << 1;  // a bit the caller had: the kernel only sets bits
    const uint64_t bm = mem.put_bytes(bitmap.data(), bitmap.size() * 8);
    const uint64_t at = feature(mem, kReport, Report{iova, pages * page, page, bm});
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, at, mem) == 0);
    REQUIRE(dev.reports.size() == 2);
    CHECK(dev.reports[1].iova == iova + 8192 * 64 * page);
    CHECK(dev.reports[0].length + dev.reports[1].length == pages * page);
    CHECK(dev.bitmaps_at[0] != bm);
    CHECK(mem.get<Report>(at + 8).bitmap == bm);
    std::memcpy(bitmap.data(), mem.region(bm).data(), bitmap.size() * 8);
    uint64_t wrong = 0, set = 0;
    for (uint64_t bit = 0; bit < pages; bit++) {
        const bool on = bitmap[bit / 64] >> (bit % 64) & 1;
        const bool want = (iova / page + bit) % 3 == 0 || bit == 1;
        wrong += on != want;
        set += on;
    }
    CHECK(wrong == 0);
    CHECK(set > pages / 3);  // the device's third, and the caller's own bit
    // A bitmap the caller does not have is EFAULT; a bad page size never
    // reaches a bitmap at all.
    CHECK(dispatch::vfio_forward_ioctl(
              dev, VFIO_DEVICE_FEATURE,
              feature(mem, kReport, Report{iova, 64 * page, page, 0x99000}), mem) == -EFAULT);
    dev.reports.clear();
    dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE,
                                 feature(mem, kReport, Report{iova, 64 * page, 1000, bm}), mem);
    REQUIRE(dev.reports.size() == 1);
    CHECK(dev.bitmaps_at.back() == 0);
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, at, mem);
    REQUIRE(fp.in.size() == 3);
    CHECK(fp.in[1].len == sizeof(Report));
    CHECK(fp.in[2].addr == bm);
    CHECK(fp.in[2].len == pages / 8);
    REQUIRE(fp.out.size() == 1);  // the bitmap only: the kernel writes no struct back
    CHECK(fp.out.back().len == pages / 8);
}

TEST_CASE("a feature this ABI does not know reaches the device without its data", "[forward]") {
    LoggingDevice dev;
    test::FakeMemory mem;
    const uint64_t at = feature(mem, VFIO_DEVICE_FEATURE_GET | 11, Report{1, 2, 3, 4});
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, at, mem) == -ENOTTY);
    CHECK(dev.argszs.back() == 8);
}

TEST_CASE("a device that tracks no DMA, or a header the kernel refuses, reaches no ranges",
          "[forward]") {
    LoggingDevice dev;
    test::FakeMemory mem;
    const uint64_t unmapped = 0x99000;
    // Without log_ops the kernel answers ENOTTY before it reads the ranges:
    // neither path may read them first (the retry path would fault).
    dev.tracks = false;
    const uint64_t at = feature(mem, kStart, Control{4096, 1, 0, unmapped});
    CHECK(dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, at, mem).in.size() == 2);
    dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, at, mem);
    CHECK(dev.ranges_at.back() == 0);
    // Unknown flags, and GET with SET, are EINVAL from the header alone
    // (vfio_ioctl_device_feature), before any device sees the call.
    dev.tracks = true;
    dev.argszs.clear();
    for (uint32_t flags : {kStart | (1u << 20), kStart | VFIO_DEVICE_FEATURE_GET}) {
        const uint64_t bad = feature(mem, flags, Control{4096, 1, 0, unmapped});
        CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, bad, mem) == -EINVAL);
        CHECK(dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, bad, mem).in.size() == 1);
    }
    CHECK(dev.argszs.empty());
    // A START whose data is shorter than the control struct reads no ranges.
    std::vector<uint8_t> b(8 + 16);
    const uint32_t argsz = 8 + 16, flags = kStart;
    std::memcpy(b.data(), &argsz, 4);
    std::memcpy(b.data() + 4, &flags, 4);
    const uint64_t shortc = mem.put_bytes(b.data(), b.size());
    CHECK(dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_FEATURE, shortc, mem).in.size() == 1);
    dev.ranges_at.clear();
    dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_FEATURE, shortc, mem);
    CHECK(dev.ranges_at.empty());
}
