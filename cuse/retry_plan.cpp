#include "cuse/retry_plan.h"

#include <algorithm>
#include <numeric>

#include "cuse/region_memory.h"

namespace ioasid::cuse {

namespace {

constexpr size_t kMaxRetryIovs = 256;
constexpr uint64_t kMaxRetryBytes = 32 * 4096;
// A footprint grows in a few steps (size, struct, arrays). More is a bug.
constexpr unsigned kMaxSteps = 8;

uint64_t total(const std::vector<dispatch::Region>& regions) {
    return std::accumulate(regions.begin(), regions.end(), uint64_t{0},
                           [](uint64_t s, const dispatch::Region& r) { return s + r.len; });
}

}  // namespace

dispatch::Footprint carried(dispatch::Footprint fp) {
    auto inside = [](const dispatch::Region& a, const dispatch::Region& b) {
        return a.addr >= b.addr && a.addr - b.addr <= b.len && a.len <= b.len - (a.addr - b.addr);
    };
    const std::vector<dispatch::Region> out = fp.out;
    for (size_t i = 0; i < out.size(); ++i) {
        bool read = std::any_of(fp.in.begin(), fp.in.end(),
                                [&](const dispatch::Region& r) { return inside(out[i], r); });
        if (read) continue;
        // Up to the end of the furthest overlap; past it the region is only
        // filled from its start, which needs nothing known.
        uint64_t needed = 0;
        for (size_t j = 0; j < out.size(); ++j) {
            uint64_t skip, n;
            if (j != i && overlap(out[i], out[j], skip, n)) needed = std::max(needed, skip + n);
        }
        if (needed) fp.in.push_back({out[i].addr, needed});
    }
    return fp;
}

bool fits_one_retry(const dispatch::Footprint& fp) {
    return fp.in.size() + fp.out.size() <= kMaxRetryIovs && total(fp.in) <= kMaxRetryBytes &&
           total(fp.out) <= kMaxRetryBytes;
}

RetryPlan plan_retry(const FootprintFn& footprint, const void* in, size_t in_size,
                     size_t out_size) {
    RegionMemory nothing({}, nullptr, 0);
    RetryPlan plan{RetryPlan::Action::Ask, carried(footprint(nothing)), in_size == 0 ? 1u : 0u};
    for (unsigned step = 1;; ++step) {
        if (total(plan.footprint.in) > in_size) break;
        if (!plan.round && total(plan.footprint.in) == in_size) plan.round = step + 1;
        RegionMemory known(plan.footprint.in, in, in_size);
        dispatch::Footprint next = carried(footprint(known));
        if (next == plan.footprint) {
            // The caller's memory changed between rounds: ask for what it is now.
            if (total(next.in) == in_size && total(next.out) == out_size)
                plan.action = RetryPlan::Action::Run;
            break;
        }
        if (step == kMaxSteps) {
            plan.action = RetryPlan::Action::Fail;
            break;
        }
        plan.footprint = std::move(next);
    }
    if (!plan.round) plan.round = 1;
    return plan;
}

}  // namespace ioasid::cuse
