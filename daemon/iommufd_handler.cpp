#include "daemon/iommufd_handler.h"

#include <unistd.h>

#include <climits>

#include "daemon/group_files.h"
#include "daemon/log.h"
#include "daemon/trace.h"
#include "dispatch/iommufd.h"
#include "dispatch/iommufd_selftest.h"
#include "dispatch/vfio_container.h"
#include "host/process.h"
#include "ioasid/ioasidd.h"
#include "model/refusal.h"

namespace ioasid::daemon {

IommufdFile::~IommufdFile() {
    // Closing the context destroys everything in it, leaves first.
    LOG_DEBUG("ioasid: context of pid %u ends with %zu objects", opener_tgid, ctx.objects().size());
    dispatch::release_test_objects(ctx);
    ctx.objects().destroy_all();
}

IommufdHandler::~IommufdHandler() = default;

int IommufdHandler::open(const dispatch::Caller& caller, uint64_t& fh) {
    std::unique_lock lock(files_mutex_);
    // File ids are not reused while the daemon runs, so a stale id a
    // device node holds can never name a newer file.
    if (next_id_ > INT32_MAX) return -EMFILE;
    auto f = std::make_shared<File>(next_id_++, host::random_cookie());
    f->opener_tgid = caller.tgid ? caller.tgid() : 0;
    f->opener_uid = caller.uid;
    f->ctx.set_topology(topology_);
    f->ctx.set_domain_pins(domain_pins);
    if (test_ops_) f->ctx.enable_test_ops();
    fh = reinterpret_cast<uint64_t>(f.get());
    LOG_DEBUG("ioasid: open by pid %u uid %u", f->opener_tgid, caller.uid);
    by_id_.emplace(f->id, fh);
    by_cookie_.emplace(f->cookie, fh);
    files_.emplace(fh, f);
    lock.unlock();
    if (on_open_close) on_open_close(*f, true);
    return 0;
}

void IommufdHandler::release(uint64_t fh) {
    std::shared_ptr<File> f;
    {
        std::lock_guard lock(files_mutex_);
        auto it = files_.find(fh);
        if (it == files_.end()) return;
        f = std::move(it->second);
        files_.erase(it);
        by_id_.erase(f->id);
        by_cookie_.erase(f->cookie);
    }
    if (f->is_group && groups) groups->release(*f);
    if (on_open_close) on_open_close(*f, false);
    // Bound devices keep the context; otherwise it ends here.
    if (f.use_count() > 1)
        LOG_DEBUG("ioasid: pid %u closed a context its devices still hold", f->opener_tgid);
}

std::shared_ptr<IommufdFile> IommufdHandler::find_cookie(uint64_t cookie) const {
    std::lock_guard lock(files_mutex_);
    auto it = by_cookie_.find(cookie);
    return it == by_cookie_.end() ? nullptr : files_.at(it->second);
}

// A file that has made nothing yet may become /dev/vfio/vfio or /dev/vfio/N.
int IommufdHandler::become(File& f, uint32_t cmd, uint64_t arg, const dispatch::Caller& caller) {
    std::lock_guard lock(f.ctx.mutex());
    if (f.is_group || f.ctx.vfio_container().on || !f.ctx.objects().empty() || f.ctx.vfio_ioas()) {
        LOG_DEBUG("ioasid: pid %u's file cannot become a %s: it is in use", f.opener_tgid,
                  cmd == IOASIDD_VFIO_GROUP ? "group" : "container");
        return refuse(-EINVAL, "the file is in use: it cannot become a group or container");
    }
    if (cmd == IOASIDD_VFIO_CONTAINER) {
        f.ctx.vfio_container().on = true;
        return 0;
    }
    if (!groups || arg > UINT32_MAX) return -ENODEV;
    int rc = groups->open(f, static_cast<uint32_t>(arg), caller);
    if (rc == 0) f.is_group = true;
    return rc;
}

std::vector<std::shared_ptr<IommufdFile>> IommufdHandler::files() const {
    std::lock_guard lock(files_mutex_);
    std::vector<std::shared_ptr<IommufdFile>> out;
    for (const auto& [id, fh] : by_id_) out.push_back(files_.at(fh));
    return out;
}

std::shared_ptr<IommufdFile> IommufdHandler::find(uint32_t file_id) const {
    std::lock_guard lock(files_mutex_);
    auto it = by_id_.find(file_id);
    return it == by_id_.end() ? nullptr : files_.at(it->second);
}

int IommufdHandler::ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                          dispatch::Caller& caller) {
    clear_refusal();
    File& f = file(fh);
    if (cmd == IOASIDD_FILE_ID) {
        // Only the daemon asks, about a duplicate it took of a client's fd.
        uint32_t tgid = caller.tgid ? caller.tgid() : 0;
        return tgid == static_cast<uint32_t>(::getpid()) ? static_cast<int>(f.id) : -EPERM;
    }
    if (cmd == IOASIDD_FILE_COOKIE)
        return mem.write(arg, &f.cookie, sizeof(f.cookie)) ? -EFAULT : 0;
    if (f.is_group) return groups->ioctl(f, cmd, arg, mem, caller);
    if (cmd == IOASIDD_VFIO_CONTAINER || cmd == IOASIDD_VFIO_GROUP)
        return become(f, cmd, arg, caller);
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
    if (f.ctx.vfio_container().on) {
        if (cmd == IOASIDD_NODE_KIND) return IOASIDD_NODE_CONTAINER;
        return dispatch::vfio_container_ioctl(f.ctx, cmd, arg, mem, caller);
    }
    return dispatch::iommufd_ioctl(f.ctx, cmd, arg, mem, caller);
}

dispatch::Footprint IommufdHandler::footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                              dispatch::UserMemory& known) {
    File& f = file(fh);
    if (cmd == IOASIDD_FILE_COOKIE) return {{}, {{arg, sizeof(f.cookie)}}};
    if (f.is_group) return groups->footprint(f, cmd, arg, known);
    std::lock_guard lock(f.ctx.mutex());
    if (f.ctx.vfio_container().on)
        return dispatch::vfio_container_footprint(f.ctx, cmd, arg, known);
    return dispatch::iommufd_footprint(f.ctx, cmd, arg, known);
}

bool IommufdHandler::wants_arguments() const {
    return trace && trace->on();
}

static_assert(dispatch::kIommufdCommandCount < CommandStats::kSlots);  // and one for "other"

void IommufdHandler::completed(const cuse::IoctlRecord& rec) {
    const char* served = dispatch::iommufd_command_name(rec.cmd);
    int index = dispatch::iommufd_command_index(rec.cmd);
    const char* name = served;
    if (index < 0) {
        index = dispatch::kIommufdCommandCount;
        name = "other";
    }
    stats_.record(static_cast<size_t>(index), name, rec.result, rec.round_trips, rec.direct,
                  rec.duration);
    // Read on the thread that ran the call, which the transport completes on.
    const char* why = rec.result < 0 ? refusal() : nullptr;
    if (trace) trace->record(node_name, dispatch::NodeKind::Iommufd, served, rec, why);
    LOG_DEBUG("ioasid: %s (0x%x) -> %d in %u round trip(s)%s%s%s", name, rec.cmd, rec.result,
              rec.round_trips, rec.direct ? "" : " by retry", why ? ": " : "", why ? why : "");
}

size_t IommufdHandler::open_files() const {
    std::lock_guard lock(files_mutex_);
    return files_.size();
}

}  // namespace ioasid::daemon
