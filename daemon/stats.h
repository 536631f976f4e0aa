// Per-command counters of one node: calls, errors, round trips, time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ioasid {

class CommandStats {
  public:
    static constexpr size_t kSlots = 24;

    // `index` < kSlots names the command; `name` labels it in reports.
    void record(size_t index, const char* name, int result, unsigned round_trips, bool direct,
                std::chrono::nanoseconds duration);
    nlohmann::json to_json() const;

  private:
    struct Slot {
        std::atomic<const char*> name{nullptr};
        std::atomic<uint64_t> calls{0};
        std::atomic<uint64_t> errors{0};
        std::atomic<uint64_t> round_trips{0};
        std::atomic<uint64_t> direct{0};
        std::atomic<uint64_t> nanoseconds{0};
    };
    std::array<Slot, kSlots> slots_;
};

}  // namespace ioasid
