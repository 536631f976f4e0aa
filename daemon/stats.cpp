#include "daemon/stats.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ioasid::daemon {

size_t CommandStats::bucket_of(uint64_t ns) {
    if (ns < 8) return static_cast<size_t>(ns);
    const int e = std::bit_width(ns) - 1;  // 3.. 63
    const size_t b = static_cast<size_t>(e - 2) * 8 + ((ns >> (e - 3)) & 7);
    return b < kBuckets ? b : kBuckets - 1;
}

double CommandStats::midpoint_ns(size_t bucket) {
    if (bucket < 8) return static_cast<double>(bucket);
    const size_t e = bucket / 8 + 2, m = bucket % 8;
    const double width = static_cast<double>(uint64_t{1} << (e - 3));
    return static_cast<double>(8 + m) * width + width / 2;
}

double CommandStats::percentile_us(const Slot& s, double fraction) {
    std::array<uint32_t, kBuckets> counts;
    uint64_t total = 0;
    for (size_t b = 0; b < kBuckets; ++b) total += counts[b] = s.histogram[b].load();
    if (!total) return 0;
    // Nearest rank: the smallest bucket holding the ceil(fraction * total)th call.
    const auto rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total))));
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b)
        if ((seen += counts[b]) >= rank) return midpoint_ns(b) / 1000;
    return midpoint_ns(kBuckets - 1) / 1000;
}

void CommandStats::record(size_t index, const char* name, int result, unsigned round_trips,
                          bool direct, std::chrono::nanoseconds duration) {
    if (index >= kSlots) return;
    Slot& s = slots_[index];
    s.name.store(name, std::memory_order_relaxed);
    s.calls.fetch_add(1, std::memory_order_relaxed);
    if (result < 0) s.errors.fetch_add(1, std::memory_order_relaxed);
    s.round_trips.fetch_add(round_trips, std::memory_order_relaxed);
    if (direct) s.direct.fetch_add(1, std::memory_order_relaxed);
    const auto ns = static_cast<uint64_t>(std::max<int64_t>(duration.count(), 0));
    s.nanoseconds.fetch_add(ns, std::memory_order_relaxed);
    s.histogram[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
}

nlohmann::json CommandStats::to_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const Slot& s : slots_) {
        const char* name = s.name.load();
        if (!name) continue;
        uint64_t calls = s.calls.load();
        out[name] = {{"calls", calls},
                     {"errors", s.errors.load()},
                     {"round_trips", s.round_trips.load()},
                     {"direct", s.direct.load()},
                     {"mean_us", calls ? s.nanoseconds.load() / 1000.0 / calls : 0.0},
                     {"p50_us", percentile_us(s, 0.50)},
                     {"p99_us", percentile_us(s, 0.99)}};
    }
    return out;
}

}  // namespace ioasid::daemon
