// Pages pinned on clients' behalf, per user, against their RLIMIT_MEMLOCK:
// the kernel's per-user locked_vm as iommufd's default accounting charges
// it (incr_user_locked_vm), for the pages ioasidd really pins.
//
// The kernel pins an IOAS's pages once for all the domains that map them.
// ioasidd pins them once per forwarded group (each group's container
// mirrors the IOAS it is attached to), so pins are counted per page: a
// page of a context's process pinned again, by another container or an
// IOAS_COPY, is charged once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace ioasid::model {

class PinLedger {
  public:
    // Whose memory a pin holds: the process (a context's source) that
    // mapped it, and the user that is charged (that of its first pin).
    struct Owner {
        const void* context;
        uint32_t source;
        uint32_t uid;
    };
    // Pins [va, va + length) once more. 0, or -ENOMEM when the pages not yet
    // pinned for `owner` would take its user past `limit_pages` (the pinning
    // process's RLIMIT_MEMLOCK, read when it pins); nothing changes then.
    int pin(const Owner& owner, uint64_t va, uint64_t length, uint64_t limit_pages);
    // Undoes one pin() of the same range.
    void unpin(const Owner& owner, uint64_t va, uint64_t length);
    uint64_t pinned(uint32_t uid) const;
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
        uint32_t uid;
        Runs runs;
    };
    static uint64_t unpinned(const Runs& runs, uint64_t first, uint64_t end);
    static void split(Runs& runs, uint64_t page);

    mutable std::mutex mutex_;
    std::map<std::pair<const void*, uint32_t>, Pins> pins_;
    std::map<uint32_t, uint64_t> pages_;  // by uid
};

}  // namespace ioasid::model
