#include "daemon/iommufd_node.h"

#include "daemon/log.h"
#include "dispatch/iommufd.h"

namespace ioasid {

IommufdNode::~IommufdNode() {
    std::lock_guard lock(files_mutex_);
    for (auto& [fh, f] : files_) f->ctx.objects().destroy_all();
}

int IommufdNode::open(const dispatch::Caller& caller, uint64_t& fh) {
    auto f = std::make_unique<File>();
    f->opener_tgid = caller.tgid ? caller.tgid() : 0;
    fh = reinterpret_cast<uint64_t>(f.get());
    LOG_DEBUG("ioasid: open by pid %u uid %u", f->opener_tgid, caller.uid);
    std::lock_guard lock(files_mutex_);
    files_.emplace(fh, std::move(f));
    return 0;
}

void IommufdNode::release(uint64_t fh) {
    std::unique_ptr<File> f;
    {
        std::lock_guard lock(files_mutex_);
        auto it = files_.find(fh);
        if (it == files_.end()) return;
        f = std::move(it->second);
        files_.erase(it);
    }
    // Closing the context destroys everything in it, leaves first.
    std::lock_guard lock(f->ctx.mutex());
    LOG_DEBUG("ioasid: release of pid %u's context with %zu objects", f->opener_tgid,
              f->ctx.objects().size());
    f->ctx.objects().destroy_all();
}

int IommufdNode::ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                       dispatch::Caller& caller) {
    File& f = file(fh);
    std::lock_guard lock(f.ctx.mutex());
    // Put the file's cache in front of the transport's resolver. The lambda
    // holds one pointer, so std::function keeps it without allocating.
    struct Cached {
        File& f;
        uint32_t tid;
        std::function<uint32_t()> resolve;
        uint32_t operator()() {
            if (f.last_tid != tid || !f.last_tgid) {
                f.last_tid = tid;
                f.last_tgid = resolve();
            }
            return f.last_tgid;
        }
    } cached{f, caller.tid, std::move(caller.tgid)};
    caller.tgid = [&cached] { return cached(); };
    return dispatch::iommufd_ioctl(f.ctx, cmd, arg, mem, caller);
}

dispatch::Footprint IommufdNode::footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                           dispatch::UserMemory& known) {
    File& f = file(fh);
    std::lock_guard lock(f.ctx.mutex());
    return dispatch::iommufd_footprint(f.ctx, cmd, arg, known);
}

void IommufdNode::completed(const cuse::IoctlRecord& rec) {
    int index = dispatch::iommufd_command_index(rec.cmd);
    const char* name = dispatch::iommufd_command_name(rec.cmd);
    if (index < 0) {
        index = dispatch::kIommufdCommandCount;
        name = "other";
    }
    stats_.record(static_cast<size_t>(index), name, rec.result, rec.round_trips, rec.direct,
                  rec.duration);
    LOG_DEBUG("ioasid: %s (0x%x) -> %d in %u round trip(s)%s", name, rec.cmd, rec.result,
              rec.round_trips, rec.direct ? "" : " by retry");
}

size_t IommufdNode::open_files() const {
    std::lock_guard lock(files_mutex_);
    return files_.size();
}

}  // namespace ioasid
