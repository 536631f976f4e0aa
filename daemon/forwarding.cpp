#include "daemon/forwarding.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "daemon/log.h"

namespace ioasid::daemon {

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
    // A read-only map of private memory: a VMM's firmware ROMs (QEMU's
    // pc.bios and pc.rom stay private even with shared guest RAM), which it
    // treats a failed map of as fatal. The device reads a copy.
    if (rc == -EOPNOTSUPP && !writable) {
        LOG_DEBUG(
            "IOMMU group %u: IOVA 0x%llx is private read-only memory (%s): the device gets a copy",
            id_, static_cast<unsigned long long>(area.start), why.c_str());
        view = host::SharedView();
        rc = view.copy(pid, area.user_va, area.length(), why);
    }
    if (rc == -EOPNOTSUPP)
        LOG_WARN(
            "IOMMU group %u: cannot map IOVA 0x%llx for the device: %s; a forwarded "
            "device needs shared memory (memfd_create, or MAP_SHARED)",
            id_, static_cast<unsigned long long>(area.start), why.c_str());
    else if (rc)
        LOG_WARN("IOMMU group %u: cannot map IOVA 0x%llx: %s", id_,
                 static_cast<unsigned long long>(area.start), why.c_str());
    if (rc) return rc;
    uint64_t done = 0;
    for (const host::SharedView::Piece& p : view.pieces()) {
        rc = vfio_->map_dma(p.local, area.start + (p.remote - area.user_va), p.length, writable);
        if (rc) {
            if (done) vfio_->unmap_dma(area.start, done);
            LOG_WARN("IOMMU group %u: VFIO_IOMMU_MAP_DMA: %s", id_, std::strerror(-rc));
            return rc;
        }
        done += p.length;
    }
    mapped_.emplace(area.start, std::move(view));
    return 0;
}

void ForwardedGroup::unmap(const model::Area& area) {
    int rc = vfio_->unmap_dma(area.start, area.length());
    if (rc) LOG_WARN("IOMMU group %u: VFIO_IOMMU_UNMAP_DMA: %s", id_, std::strerror(-rc));
    mapped_.erase(area.start);
}

// The container goes with us, and its mappings with it.
ForwardedGroup::~ForwardedGroup() = default;

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
                                                  host::make_vfio_group(api_, address, &owner));
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

}  // namespace ioasid::daemon
