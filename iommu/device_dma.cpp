#include "iommu/device_dma.h"

#include <cerrno>
#include <mutex>
#include <vector>

#include "model/binding.h"
#include "model/ioas.h"

namespace ioasid::iommu {

int DeviceDma::read(uint64_t iova, void* dst, uint64_t len) {
    int rc = access(iova, dst, len, false);
    if (rc && on_fault_) on_fault_(iova, len, false);
    return rc;
}

int DeviceDma::write(uint64_t iova, const void* src, uint64_t len) {
    int rc = access(iova, const_cast<void*>(src), len, true);
    if (rc && on_fault_) on_fault_(iova, len, true);
    return rc;
}

// Runs inside a device command, with its node's lock held. The context's
// lock is held across the copy so that an UNMAP cannot complete while a
// DMA still reaches the pages it unmapped.
int DeviceDma::access(uint64_t iova, void* buf, uint64_t len, bool write) {
    const Binding b = binding_ ? binding_() : Binding{};
    if (!b.ctx) return -EFAULT;
    std::lock_guard lock(b.ctx->mutex());
    model::Ioas* ioas = model::device_ioas(*b.ctx, b.dev_id);
    std::vector<model::Segment> segs;
    if (!ioas || ioas->translate(iova, len, write, segs)) return -EFAULT;
    auto* p = static_cast<char*>(buf);
    for (const model::Segment& s : segs) {
        // 0 once the process that mapped has exited: its pid may be another's.
        const uint32_t pid = b.ctx->source_pid(s.source);
        if (!pid) return -EFAULT;
        int rc = write ? memory_.write(pid, s.user_va, p, s.length)
                       : memory_.read(pid, s.user_va, p, s.length);
        if (rc) return rc;
        p += s.length;
    }
    return 0;
}

}  // namespace ioasid::iommu
