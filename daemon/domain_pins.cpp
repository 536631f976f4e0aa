#include "daemon/domain_pins.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "daemon/log.h"
#include "host/caller.h"

namespace ioasid::daemon {

namespace {

std::string account_name(const model::PinLedger::Account& a) {
    return (a.kind == model::PinLedger::Account::User ? "uid " : "pid ") + std::to_string(a.id);
}

}  // namespace

// Nothing for a process with CAP_IPC_LOCK; else the pages count against the
// mapping process's RLIMIT_MEMLOCK, summed per user by default or, with
// RLIMIT_MODE 1, per process on top of what its mm has locked already. A
// container charges the daemon, which locks without limit, and an emulated
// domain pins nothing: without this a client could pin past its own limit.
int DomainPins::account(pid_t pid, model::PinLedger::Account& out, uint64_t& others) const {
    if (ctx_.account_mode() == model::AccountMode::Mm) {
        const uint64_t started = host::start_time(pid);
        if (!started) return -EFAULT;
        out = model::PinLedger::process(static_cast<uint32_t>(pid), started);
        others = host::locked_memory(pid) / 4096;
        return 0;
    }
    const int64_t uid = host::real_uid(pid);
    if (uid < 0) return -EFAULT;
    out = model::PinLedger::user(static_cast<uint32_t>(uid));
    others = 0;
    return 0;
}

int DomainPins::charge(pid_t pid, const model::Area& area, bool memory_checked, Charge& out) {
    constexpr int kCapIpcLock = 14;
    if (host::has_capability(pid, kCapIpcLock)) return 0;
    model::PinLedger::Owner owner{&ctx_, area.pages, {}};
    uint64_t others = 0;
    int rc = account(pid, owner.account, others);
    if (rc) return rc;
    const uint64_t limit = host::memlock_limit(pid) / 4096;
    rc = ledger_->pin(owner, area.user_va, area.length(), limit - std::min(limit, others));
    // The kernel pins a new map's pages before it charges them, so memory
    // the process does not map fails with EFAULT even past the limit; the
    // check costs only when the charge is refused.
    if (rc == -ENOMEM && !memory_checked) {
        const int gone = host::pinnable(pid, area.user_va, area.length(), area.pages_writable);
        if (gone) return gone;
    }
    if (rc) {
        LOG_WARN(
            "cannot pin 0x%llx bytes at IOVA 0x%llx for %s: %llu KiB are pinned already%s and "
            "RLIMIT_MEMLOCK of pid %d is %llu KiB (raise it, or give the program CAP_IPC_LOCK)",
            static_cast<unsigned long long>(area.length()),
            static_cast<unsigned long long>(area.start), account_name(owner.account).c_str(),
            static_cast<unsigned long long>(ledger_->pinned(owner.account) * 4),
            others ? (", " + std::to_string(others * 4) + " KiB locked by the process").c_str()
                   : "",
            pid, static_cast<unsigned long long>(limit * 4));
        return rc;
    }
    out = {true, owner, area.user_va, area.length()};
    return 0;
}

void DomainPins::uncharge(const Charge& charge) {
    if (charge.charged) ledger_->unpin(charge.owner, charge.va, charge.length);
}

int DomainPins::map(const model::Area& area) {
    return pin(area, false);
}

int DomainPins::fill(const model::Area& area) {
    return pin(area, true);
}

int DomainPins::pin(const model::Area& area, bool check_memory) {
    const auto pid = static_cast<pid_t>(ctx_.source_pid(area.source));
    if (!pid) return -EFAULT;  // the process that mapped it has exited
    if (check_memory) {
        int rc = host::pinnable(pid, area.user_va, area.length(), area.pages_writable);
        if (rc) return rc;
    }
    Charge c;
    int rc = charge(pid, area, check_memory, c);
    if (rc == 0) charged_[area.start] = c;
    return rc;
}

void DomainPins::unmap(const model::Area& area) {
    auto it = charged_.find(area.start);
    if (it == charged_.end()) return;
    uncharge(it->second);
    charged_.erase(it);
}

// The halves' pins first: the whole still holds their pages, so nothing is
// new against the limit, and no page is unpinned in between.
void DomainPins::split(const model::Area& whole, const model::Area& lhs, const model::Area& rhs) {
    auto it = charged_.find(whole.start);
    if (it == charged_.end()) return;
    const Charge c = it->second;
    charged_.erase(it);
    if (!c.charged) {
        charged_[lhs.start] = c;
        charged_[rhs.start] = c;
        return;
    }
    for (const model::Area* half : {&lhs, &rhs}) {
        ledger_->pin(c.owner, half->user_va, half->length(), UINT64_MAX);
        charged_[half->start] = {true, c.owner, half->user_va, half->length()};
    }
    uncharge(c);
}

DomainPins::~DomainPins() {
    for (const auto& [start, c] : charged_) uncharge(c);
}

}  // namespace ioasid::daemon
