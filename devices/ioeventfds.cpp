#include "devices/ioeventfds.h"

#include <algorithm>
#include <cerrno>

#include "devices/emulated.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::devices {

int Ioeventfds::set(const EmulatedPci& dev, uint64_t offset, uint64_t data, uint32_t count,
                    int32_t fd, const Watcher& watcher) {
    const auto bar = static_cast<uint32_t>(IOASID_VFIO_PCI_OFFSET_TO_INDEX(offset));
    const uint64_t pos = offset & IOASID_VFIO_PCI_OFFSET_MASK;
    if (bar > VFIO_PCI_BAR5_REGION_INDEX) return refuse(-EINVAL, "IOEVENTFD: not in a BAR");
    RegionInfo r;
    if (dev.region_info(bar, r) || pos + count > r.size)
        return refuse(-EINVAL, "IOEVENTFD: past the BAR's end");
    auto same = [&](const Entry& e) {
        return e.pos == pos && e.bar == bar && e.data == data && e.count == count;
    };
    auto it = std::find_if(entries_.begin(), entries_.end(), same);
    if (it != entries_.end()) {
        if (fd != -1) return -EEXIST;
        entries_.erase(it);
        return 0;
    }
    if (fd < 0) return -ENODEV;
    if (entries_.size() >= kMax) return -ENOSPC;
    Entry e{bar, pos, data, count, next_id_++, nullptr};
    if (int rc = watcher(fd, e.id, e.watch)) return rc;
    entries_.push_back(std::move(e));
    return 0;
}

void Ioeventfds::fire(EmulatedPci& dev, uint64_t id) {
    auto it =
        std::find_if(entries_.begin(), entries_.end(), [id](const Entry& e) { return e.id == id; });
    if (it == entries_.end()) return;  // removed since it was signalled
    const uint64_t data = it->data;    // little-endian, as iowrite*() puts it
    dev.region_write(it->bar, it->pos, &data, it->count);
}

}  // namespace ioasid::devices
