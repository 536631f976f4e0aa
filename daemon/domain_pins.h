// RLIMIT_MEMLOCK for the pages an IOAS's domains pin, as iommufd charges
// them (iopt_alloc_pages(), incr_user_locked_vm(), update_mm_locked_vm()).
//
// The kernel pins an IOAS's areas once, for all its domains, from the first
// domain on (or from the map, when it has one already) until the area or the
// last domain goes, and charges the pinning process then. ioasidd does the
// same for every domain: a forwarded group's container really pins, an
// emulated device's domain pins nothing but is charged alike, so that a
// program meets the limit where it would on the kernel's own iommufd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>

#include "model/context.h"
#include "model/ioas.h"
#include "model/pin_ledger.h"

namespace ioasid::daemon {

class DomainPins final : public model::AreaMirror {
  public:
    DomainPins(const model::Context& ctx, std::shared_ptr<model::PinLedger> ledger)
        : ctx_(ctx), ledger_(std::move(ledger)) {}
    ~DomainPins() override;
    DomainPins(const DomainPins&) = delete;
    DomainPins& operator=(const DomainPins&) = delete;

    // Under the context's lock, from the model. map: 0, -ENOMEM past the
    // process's limit, -EFAULT when the process that mapped it is gone.
    int map(const model::Area& area) override;
    void unmap(const model::Area& area) override;
    // The first domain pins what the IOAS holds (iopt_fill_domain()):
    // memory the process no longer maps is EFAULT then. A new area's memory
    // is checked where it is mapped (dispatch's pin_new_area()), or by a
    // container's real pin.
    int fill(const model::Area& area) override;
    // Pins are counted per page: the halves hold what the whole did.
    bool splits() const override { return true; }
    void split(const model::Area& whole, const model::Area& lhs, const model::Area& rhs) override;

  private:
    // Whose ledger pin one area holds: none when its process may lock
    // memory without limit (CAP_IPC_LOCK).
    struct Charge {
        bool charged = false;
        model::PinLedger::Owner owner{};
        uint64_t va = 0, length = 0;
    };
    // Charges the area and keeps the charge; with `check_memory`, first
    // whether the process still maps the memory (EFAULT).
    int pin(const model::Area& area, bool check_memory);
    // `memory_checked`: whether pin() has found the memory mapped already.
    int charge(pid_t pid, const model::Area& area, bool memory_checked, Charge& out);
    // The account a pin for `pid` is charged to, and the pages it has
    // locked otherwise (its mm's, per process). 0 or -EFAULT (it is gone).
    int account(pid_t pid, model::PinLedger::Account& out, uint64_t& others) const;
    void uncharge(const Charge& charge);

    const model::Context& ctx_;
    std::shared_ptr<model::PinLedger> ledger_;
    std::map<uint64_t, Charge> charged_;  // by area start: one IOAS's areas
};

}  // namespace ioasid::daemon
