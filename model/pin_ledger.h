// Pages pinned on clients' behalf, against their RLIMIT_MEMLOCK, as
// iommufd accounts them: per user by default (incr_user_locked_vm), or per
// process once the context asked for it (IOMMU_OPTION_RLIMIT_MODE 1, the
// mm's locked_vm: update_mm_locked_vm), for the pages ioasidd really pins.
//
// The kernel charges each IOAS_MAP's pages (an iopt_pages) once, for all
// the domains that map them and the IOAS_COPYs that share them, and a
// second IOAS_MAP of the same memory again. ioasidd pins them once per
// forwarded group (each group's container mirrors the IOAS it is attached
// to), so pins are counted per page of one map's pages (Area::pages): a
// page pinned again, by another container or an IOAS_COPY, is charged
// once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace ioasid::model {

class PinLedger {
  public:
    // What is charged: a user, or one process (its pid and start time,
    // since a pid used again names another process and another mm).
    struct Account {
        enum Kind : uint8_t { User, Process };
        Kind kind = User;
        uint32_t id = 0;  // uid or pid
        uint64_t started = 0;
        auto operator<=>(const Account&) const = default;
    };
    static Account user(uint32_t uid) { return {Account::User, uid, 0}; }
    static Account process(uint32_t pid, uint64_t started) {
        return {Account::Process, pid, started};
    }
    // Whose memory a pin holds: a context's map of it (Area::pages), and
    // the account charged (that of its first pin).
    struct Owner {
        const void* context;
        uint64_t pages;
        Account account;
    };
    // Pins [va, va + length) once more. 0, or -ENOMEM when the pages not yet
    // pinned for `owner` would take its account past `limit_pages` (the
    // pinning process's RLIMIT_MEMLOCK, read when it pins, less what else
    // the account has locked); nothing changes then.
    int pin(const Owner& owner, uint64_t va, uint64_t length, uint64_t limit_pages);
    // Undoes one pin() of the same range.
    void unpin(const Owner& owner, uint64_t va, uint64_t length);
    uint64_t pinned(const Account& account) const;
    // The pages charged for the pins of one context's processes.
    uint64_t charged(const void* context) const;

  private:
    // Pages [start, end) pinned `refs` times; runs never overlap.
    struct Run {
        uint64_t end;
        uint32_t refs;
    };
    using Runs = std::map<uint64_t, Run>;
    struct Pins {
        Account account;
        Runs runs;
    };
    static uint64_t unpinned(const Runs& runs, uint64_t first, uint64_t end);
    static void split(Runs& runs, uint64_t page);

    mutable std::mutex mutex_;
    std::map<std::pair<const void*, uint64_t>, Pins> pins_;
    std::map<Account, uint64_t> pages_;
};

}  // namespace ioasid::model
