// Pages pinned on clients' behalf, per user, against their RLIMIT_MEMLOCK:
// the kernel's per-user locked_vm as iommufd's default accounting charges
// it (incr_user_locked_vm), for the pages ioasidd really pins.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace ioasid::model {

class PinLedger {
  public:
    // 0, or -ENOMEM when the user's pages would exceed `limit_pages` (the
    // pinning process's RLIMIT_MEMLOCK, read when it pins).
    int charge(uint32_t uid, uint64_t pages, uint64_t limit_pages);
    void uncharge(uint32_t uid, uint64_t pages);
    uint64_t pinned(uint32_t uid) const;

  private:
    mutable std::mutex mutex_;
    std::map<uint32_t, uint64_t> pages_;
};

}  // namespace ioasid::model
