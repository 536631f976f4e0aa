// Per-command counters of one node: calls, errors, round trips, time, and
// a histogram of durations for percentiles (a mean hides the slow tail, and
// one stall moves it).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ioasid::daemon {

class CommandStats {
  public:
    static constexpr size_t kSlots = 24;

    // `index` < kSlots names the command; `name` labels it in reports.
    void record(size_t index, const char* name, int result, unsigned round_trips, bool direct,
                std::chrono::nanoseconds duration);
    nlohmann::json to_json() const;

    // Log-linear buckets of nanoseconds, 8 to each power of two: a bucket's
    // midpoint is within 1/16 of any duration in it. The last one holds
    // everything from about 2^41 ns (37 minutes) on.
    static constexpr size_t kBuckets = 8 * 40;
    static size_t bucket_of(uint64_t ns);
    static double midpoint_ns(size_t bucket);

  private:
    struct Slot {
        std::atomic<const char*> name{nullptr};
        std::atomic<uint64_t> calls{0};
        std::atomic<uint64_t> errors{0};
        std::atomic<uint64_t> round_trips{0};
        std::atomic<uint64_t> direct{0};
        std::atomic<uint64_t> nanoseconds{0};
        std::array<std::atomic<uint32_t>, kBuckets> histogram{};
    };
    // The duration (in microseconds) below which a `fraction` of the calls
    // fell, from the histogram; 0 with none.
    static double percentile_us(const Slot& s, double fraction);
    std::array<Slot, kSlots> slots_;
};

}  // namespace ioasid::daemon
