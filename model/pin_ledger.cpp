#include "model/pin_ledger.h"

#include <algorithm>
#include <cerrno>

namespace ioasid::model {

namespace {

constexpr uint64_t kPage = 4096;

// The pages [va, va + length) touches.
std::pair<uint64_t, uint64_t> pages_of(uint64_t va, uint64_t length) {
    const uint64_t first = va / kPage;
    const uint64_t last = (va + length - 1) / kPage;  // the IOAS checked va + length
    return {first, last + 1};
}

}  // namespace

uint64_t PinLedger::unpinned(const Runs& runs, uint64_t first, uint64_t end) {
    uint64_t held = 0;
    auto it = runs.upper_bound(first);
    if (it != runs.begin()) --it;
    for (; it != runs.end() && it->first < end; ++it)
        if (it->second.end > first)
            held += std::min(it->second.end, end) - std::max(it->first, first);
    return (end - first) - held;
}

// After this no run crosses `page`: one ends there and the next begins.
void PinLedger::split(Runs& runs, uint64_t page) {
    auto it = runs.upper_bound(page);
    if (it == runs.begin()) return;
    --it;
    if (it->first >= page || it->second.end <= page) return;
    const Run tail = it->second;
    it->second.end = page;
    runs.emplace(page, tail);
}

int PinLedger::pin(const Owner& owner, uint64_t va, uint64_t length, uint64_t limit_pages) {
    if (!length) return 0;
    const auto [first, end] = pages_of(va, length);
    std::lock_guard lock(mutex_);
    auto [at, made] = pins_.try_emplace({owner.context, owner.pages}, Pins{owner.account, {}});
    Pins& pins = at->second;
    const uint64_t fresh = unpinned(pins.runs, first, end);
    const uint64_t held = pages_.count(pins.account) ? pages_[pins.account] : 0;
    if (fresh > limit_pages || held > limit_pages - fresh) {
        if (made) pins_.erase(at);
        return -ENOMEM;
    }
    split(pins.runs, first);
    split(pins.runs, end);
    auto it = pins.runs.lower_bound(first);
    for (uint64_t page = first; page < end;) {
        if (it != pins.runs.end() && it->first == page) {
            it->second.refs++;
            page = it->second.end;
            ++it;
            continue;
        }
        const uint64_t gap_end = it != pins.runs.end() && it->first < end ? it->first : end;
        pins.runs.emplace_hint(it, page, Run{gap_end, 1});
        page = gap_end;
    }
    if (fresh) pages_[pins.account] = held + fresh;
    return 0;
}

void PinLedger::unpin(const Owner& owner, uint64_t va, uint64_t length) {
    if (!length) return;
    const auto [first, end] = pages_of(va, length);
    std::lock_guard lock(mutex_);
    auto at = pins_.find({owner.context, owner.pages});
    if (at == pins_.end()) return;
    Pins& pins = at->second;
    split(pins.runs, first);
    split(pins.runs, end);
    uint64_t freed = 0;
    for (auto it = pins.runs.lower_bound(first); it != pins.runs.end() && it->first < end;) {
        if (--it->second.refs) {
            ++it;
            continue;
        }
        freed += it->second.end - it->first;
        it = pins.runs.erase(it);
    }
    auto held = pages_.find(pins.account);
    if (held != pages_.end()) {
        held->second -= std::min(freed, held->second);
        if (!held->second) pages_.erase(held);
    }
    if (pins.runs.empty()) pins_.erase(at);
}

uint64_t PinLedger::charged(const void* context) const {
    std::lock_guard lock(mutex_);
    uint64_t pages = 0;
    for (auto it = pins_.lower_bound({context, 0}); it != pins_.end() && it->first.first == context;
         ++it)
        for (const auto& [first, run] : it->second.runs) pages += run.end - first;
    return pages;
}

uint64_t PinLedger::pinned(const Account& account) const {
    std::lock_guard lock(mutex_);
    auto it = pages_.find(account);
    return it == pages_.end() ? 0 : it->second;
}

}  // namespace ioasid::model
