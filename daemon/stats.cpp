#include "daemon/stats.h"

namespace ioasid {

void CommandStats::record(size_t index, const char* name, int result, unsigned round_trips,
                          bool direct, std::chrono::nanoseconds duration) {
    if (index >= kSlots) return;
    Slot& s = slots_[index];
    s.name.store(name, std::memory_order_relaxed);
    s.calls.fetch_add(1, std::memory_order_relaxed);
    if (result < 0) s.errors.fetch_add(1, std::memory_order_relaxed);
    s.round_trips.fetch_add(round_trips, std::memory_order_relaxed);
    if (direct) s.direct.fetch_add(1, std::memory_order_relaxed);
    s.nanoseconds.fetch_add(static_cast<uint64_t>(duration.count()), std::memory_order_relaxed);
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
                     {"mean_us", calls ? s.nanoseconds.load() / 1000.0 / calls : 0.0}};
    }
    return out;
}

}  // namespace ioasid
