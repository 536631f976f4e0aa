#include "model/pin_ledger.h"

#include <cerrno>

namespace ioasid::model {

int PinLedger::charge(uint32_t uid, uint64_t pages, uint64_t limit_pages) {
    std::lock_guard lock(mutex_);
    uint64_t& held = pages_[uid];
    if (pages > limit_pages || held > limit_pages - pages) {
        if (!held) pages_.erase(uid);
        return -ENOMEM;
    }
    held += pages;
    return 0;
}

void PinLedger::uncharge(uint32_t uid, uint64_t pages) {
    std::lock_guard lock(mutex_);
    auto it = pages_.find(uid);
    if (it == pages_.end()) return;
    it->second -= pages < it->second ? pages : it->second;
    if (!it->second) pages_.erase(it);
}

uint64_t PinLedger::pinned(uint32_t uid) const {
    std::lock_guard lock(mutex_);
    auto it = pages_.find(uid);
    return it == pages_.end() ? 0 : it->second;
}

}  // namespace ioasid::model
