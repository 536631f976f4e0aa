#include "dispatch/vfio_forward_logging.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dispatch/guarded_page.h"
#include "ioasid/vfio.h"

namespace ioasid::dispatch {

namespace {

constexpr size_t kHeader = 8;  // vfio_device_feature's argsz and flags
constexpr size_t kPage = GuardedPage::kPage;
using Control = vfio_device_feature_dma_logging_control;
using Range = vfio_device_feature_dma_logging_range;
using Report = vfio_device_feature_dma_logging_report;
static_assert(VFIO_DEVICE_DMA_LOGGING_MAX_RANGES * sizeof(Range) == kPage);

// The bitmap is carried in pieces of this many words (64 KiB).
constexpr uint64_t kChunkWords = 8192;

uint32_t flags_of(const std::vector<uint8_t>& f) {
    uint32_t flags;
    std::memcpy(&flags, f.data() + 4, 4);
    return flags;
}

template <typename T>
bool data_of(const std::vector<uint8_t>& f, T& out) {
    if (f.size() < kHeader + sizeof(T)) return false;
    std::memcpy(&out, f.data() + kHeader, sizeof(T));
    return true;
}

template <typename T>
void put_data(std::vector<uint8_t>& f, const T& v) {
    std::memcpy(f.data() + kHeader, &v, sizeof(T));
}

// Whether the kernel reads the START's ranges: a call that acts (see the
// header) on a device that tracks DMA, with a count it takes.
bool reads_ranges(bool acts, const Control& c) {
    return acts && c.num_ranges && c.num_ranges <= VFIO_DEVICE_DMA_LOGGING_MAX_RANGES;
}

// As many of the caller's ranges as it has, up to `n`.
size_t read_ranges(UserMemory& mem, uint64_t at, uint32_t n, Range* out) {
    if (!mem.read(at, out, size_t{n} * sizeof(Range))) return n;
    size_t got = 0;
    while (got < n && !mem.read(at + got * sizeof(Range), &out[got], sizeof(Range))) ++got;
    return got;
}

// The bitmap's bits: one per page of [iova, iova + length), or 0 when the
// kernel refuses the report before it reaches the bitmap.
uint64_t report_bits(const std::vector<uint8_t>& f, bool acts, Report& r) {
    uint64_t end;
    if (!acts || !data_of(f, r)) return 0;
    if (r.page_size < kPage || (r.page_size & (r.page_size - 1))) return 0;
    if (__builtin_add_overflow(r.iova, r.length, &end) || !r.length) return 0;
    return (r.length - 1) / r.page_size + 1;
}

}  // namespace

int forward_logging_start(ForwardTarget& t, std::vector<uint8_t>& f, bool acts, UserMemory& mem) {
    Control c;
    if (!data_of(f, c)) return t.call(VFIO_DEVICE_FEATURE, f.data());
    const uint64_t user_ranges = c.ranges;
    GuardedPage page;
    c.ranges = 0;  // the kernel faults on it, never reaching the daemon's memory
    if (reads_ranges(acts && t.tracks_dma(), c)) {
        Range ranges[VFIO_DEVICE_DMA_LOGGING_MAX_RANGES];
        const size_t got = read_ranges(mem, user_ranges, c.num_ranges, ranges);
        uint8_t* at = page.place(got * sizeof(Range));
        if (!at) return -ENOMEM;
        std::memcpy(at, ranges, got * sizeof(Range));
        c.ranges = reinterpret_cast<uintptr_t>(at);
    }
    put_data(f, c);
    const int rc = t.call(VFIO_DEVICE_FEATURE, f.data());
    data_of(f, c);  // the driver may have changed page_size
    c.ranges = user_ranges;
    put_data(f, c);
    return rc;
}

// The kernel only sets bits in the caller's bitmap, so each piece is read
// first and written back after. Each piece is a report of its own IOVAs,
// which reads and clears their dirty bits as the one report would.
int forward_logging_report(ForwardTarget& t, std::vector<uint8_t>& f, bool acts, UserMemory& mem) {
    Report r;
    const uint64_t bits = report_bits(f, acts && t.tracks_dma(), r);
    if (!bits) {
        if (data_of(f, r)) {
            const uint64_t user_bitmap = r.bitmap;
            r.bitmap = 0;
            put_data(f, r);
            const int rc = t.call(VFIO_DEVICE_FEATURE, f.data());
            r.bitmap = user_bitmap;
            put_data(f, r);
            return rc;
        }
        return t.call(VFIO_DEVICE_FEATURE, f.data());
    }
    const Report user = r;
    std::vector<uint64_t> words(std::min((bits + 63) / 64, kChunkWords));
    int rc = 0;
    for (uint64_t done = 0; done < bits && rc >= 0;) {
        const uint64_t n = std::min(bits - done, kChunkWords * 64);
        const uint64_t at = user.bitmap + done / 8, bytes = (n + 63) / 64 * 8;
        if (mem.read(at, words.data(), bytes)) {
            rc = -EFAULT;
            break;
        }
        r.iova = user.iova + done * user.page_size;
        r.length = done + n == bits ? user.length - done * user.page_size : n * user.page_size;
        r.bitmap = reinterpret_cast<uintptr_t>(words.data());
        put_data(f, r);
        rc = t.call(VFIO_DEVICE_FEATURE, f.data());
        if (rc >= 0 && mem.write(at, words.data(), bytes)) rc = -EFAULT;
        done += n;
    }
    put_data(f, user);
    return rc;
}

void logging_footprint(const std::vector<uint8_t>& f, bool tracks_dma, Footprint& fp) {
    if (f.size() < kHeader) return;
    const uint32_t feature = flags_of(f) & VFIO_DEVICE_FEATURE_MASK;
    if (feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_START) {
        Control c;
        if (data_of(f, c) && reads_ranges(tracks_dma, c))
            fp.in.push_back({c.ranges, size_t{c.num_ranges} * sizeof(Range)});
    } else if (feature == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT) {
        Report r;
        if (const uint64_t bits = report_bits(f, tracks_dma, r)) {
            fp.in.push_back({r.bitmap, (bits + 63) / 64 * 8});
            fp.out.push_back(fp.in.back());
        }
    }
}

}  // namespace ioasid::dispatch
