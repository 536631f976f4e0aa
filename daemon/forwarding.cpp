#include "daemon/forwarding.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "cuse/caller.h"
#include "daemon/log.h"

namespace ioasid {

int ForwardedGroup::open() {
    int rc = vfio_->open(id_);
    if (rc == 0)
        LOG_INFO("IOMMU group %u: forwarded through the %s", id_, vfio_->api());
    else if (rc == -EBUSY)
        LOG_WARN("IOMMU group %u: /dev/vfio/%u is held by another program", id_, id_);
    else if (rc)
        LOG_WARN("IOMMU group %u: cannot open it through VFIO: %s", id_, std::strerror(-rc));
    return rc;
}

void ForwardedGroup::describe(model::Group& group) {
    std::vector<model::IovaRange> ranges;
    uint64_t page = 0;
    if (vfio_->iova_ranges(ranges, page) || ranges.empty()) return;
    group.aperture_last = ranges.back().last;
    std::erase_if(group.reserved,
                  [](const model::ReservedRegion& r) { return r.type == "vfio-container"; });
    uint64_t next = 0;
    for (const model::IovaRange& r : ranges) {
        if (r.start > next) group.reserved.push_back({next, r.start - 1, "vfio-container"});
        next = r.last + 1;
    }
}

int ForwardedGroup::map(const model::Area& area) {
    const bool writable = area.prot & model::kProtWrite;
    const auto pid = static_cast<pid_t>(owner_.source_pid(area.source));
    host::SharedView view;
    std::string why = "the process that mapped it has exited";
    int rc = pid ? view.map(files_, pid, area.user_va, area.length(), writable, why) : -EFAULT;
    // Alive before and after: the pid named that process all along (a pid
    // is not reused before its process is reaped).
    if (rc == 0 && owner_.source_pid(area.source) != static_cast<uint32_t>(pid)) rc = -EFAULT;
    if (rc == -EOPNOTSUPP)
        LOG_WARN(
            "IOMMU group %u: cannot map IOVA 0x%llx for the device: %s; a forwarded "
            "device needs shared memory (memfd_create, or MAP_SHARED)",
            id_, static_cast<unsigned long long>(area.start), why.c_str());
    else if (rc)
        LOG_WARN("IOMMU group %u: cannot map IOVA 0x%llx: %s", id_,
                 static_cast<unsigned long long>(area.start), why.c_str());
    if (rc) return rc;
    Charge charged;
    if ((rc = charge(pid, area, charged))) return rc;
    uint64_t done = 0;
    for (const host::SharedView::Piece& p : view.pieces()) {
        rc = vfio_->map_dma(p.local, area.start + (p.remote - area.user_va), p.length, writable);
        if (rc) {
            if (done) vfio_->unmap_dma(area.start, done);
            uncharge(charged);
            LOG_WARN("IOMMU group %u: VFIO_IOMMU_MAP_DMA: %s", id_, std::strerror(-rc));
            return rc;
        }
        done += p.length;
    }
    mapped_.emplace(area.start, Mapped{std::move(view), charged});
    return 0;
}

namespace {

std::string account_name(const model::PinLedger::Account& a) {
    return (a.kind == model::PinLedger::Account::User ? "uid " : "pid ") + std::to_string(a.id);
}

}  // namespace

// How iommufd accounts pins (iopt_alloc_pages(), update_mm_locked_vm()):
// nothing for a caller with CAP_IPC_LOCK; else the pages count against the
// mapping process's RLIMIT_MEMLOCK, summed per user by default or, with
// RLIMIT_MODE 1, per process on top of what its mm has locked already. The
// container charges the daemon, which locks without limit; without this a
// client could pin more than its own limit allows.
int ForwardedGroup::account(pid_t pid, model::PinLedger::Account& out, uint64_t& others) const {
    if (owner_.account_mode() == model::AccountMode::Mm) {
        const uint64_t started = cuse::start_time(pid);
        if (!started) return -EFAULT;
        out = model::PinLedger::process(static_cast<uint32_t>(pid), started);
        others = cuse::locked_memory(pid) / 4096;
        return 0;
    }
    const int64_t uid = cuse::real_uid(pid);
    if (uid < 0) return -EFAULT;
    out = model::PinLedger::user(static_cast<uint32_t>(uid));
    others = 0;
    return 0;
}

int ForwardedGroup::charge(pid_t pid, const model::Area& area, Charge& out) {
    constexpr int kCapIpcLock = 14;
    if (cuse::has_capability(pid, kCapIpcLock)) return 0;
    model::PinLedger::Owner owner{&owner_, area.source, {}};
    uint64_t others = 0;
    int rc = account(pid, owner.account, others);
    if (rc) return rc;
    const uint64_t limit = cuse::memlock_limit(pid) / 4096;
    rc = ledger_->pin(owner, area.user_va, area.length(), limit - std::min(limit, others));
    if (rc) {
        LOG_WARN(
            "IOMMU group %u: cannot pin 0x%llx bytes at IOVA 0x%llx for %s: %llu KiB are pinned "
            "already%s and RLIMIT_MEMLOCK of pid %d is %llu KiB (raise it, or give the program "
            "CAP_IPC_LOCK)",
            id_, static_cast<unsigned long long>(area.length()),
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

void ForwardedGroup::uncharge(const Charge& charge) {
    if (charge.charged) ledger_->unpin(charge.owner, charge.va, charge.length);
}

void ForwardedGroup::unmap(const model::Area& area) {
    int rc = vfio_->unmap_dma(area.start, area.length());
    if (rc) LOG_WARN("IOMMU group %u: VFIO_IOMMU_UNMAP_DMA: %s", id_, std::strerror(-rc));
    auto it = mapped_.find(area.start);
    if (it == mapped_.end()) return;
    uncharge(it->second.charge);
    mapped_.erase(it);
}

// The container goes with us, and its mappings with it.
ForwardedGroup::~ForwardedGroup() {
    for (auto& [start, m] : mapped_) uncharge(m.charge);
}

int Forwarding::acquire(uint32_t group, const std::string& address, const model::Context& owner,
                        std::shared_ptr<ForwardedGroup>& out) {
    std::lock_guard lock(mutex_);
    auto it = groups_.find(group);
    if (it != groups_.end()) {
        out = it->second.lock();
        if (out && &out->owner() == &owner) return 0;
        if (out) return -EPERM;  // the model's claim says so first; kept as a guard
    }
    auto fresh = std::make_shared<ForwardedGroup>(group, owner,
                                                  host::make_vfio_group(api_, address), ledger_);
    int rc = fresh->open();
    if (rc) return rc;
    groups_[group] = fresh;
    out = std::move(fresh);
    return 0;
}

std::shared_ptr<ForwardedGroup> Forwarding::find(uint32_t group, const model::Context& owner) {
    std::lock_guard lock(mutex_);
    auto it = groups_.find(group);
    std::shared_ptr<ForwardedGroup> g = it == groups_.end() ? nullptr : it->second.lock();
    return g && &g->owner() == &owner ? g : nullptr;
}

}  // namespace ioasid
