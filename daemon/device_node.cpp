#include "daemon/device_node.h"
#include "daemon/device_file.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "daemon/log.h"
#include "daemon/trace.h"
#include "dispatch/vfio_device.h"
#include "host/process.h"
#include "host/vfio.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/binding.h"
#include "model/refusal.h"
#include "model/vfio_group.h"

namespace ioasid::daemon {

DeviceNode::DeviceNode(std::string address, std::unique_ptr<devices::EmulatedPci> device,
                       model::SharedTopology& topology, IommufdHandler& iommufd, dev_t iommufd_rdev,
                       Forwarding* forwarding)
    : address_(std::move(address)),
      topology_(topology),
      iommufd_(iommufd),
      iommufd_rdev_(iommufd_rdev),
      forwarding_(forwarding),
      device_(std::move(device)),
      dma_([this] { return bound_dma(); }, client_memory_,
           [this](uint64_t iova, uint64_t len, bool write) {
               if (on_dma_fault) on_dma_fault(address_, iova, len, write);
           }) {}

// Runs inside a device command, with the node's lock held.
iommu::DeviceDma::Binding DeviceNode::bound_dma() const {
    model::Context* ctx = bound_ ? bound_->context() : nullptr;
    return {ctx, ctx ? bound_->dev_id() : 0};
}

// The watcher's thread may wait for the node's lock: it stops after the
// files are unbound (their ioeventfds gone), with the lock free.
DeviceNode::~DeviceNode() {
    {
        std::lock_guard lock(mutex_);
        for (auto& [fh, f] : files_) f->unbind();
    }
    ioevents_.reset();
}

host::EventfdWatcher& DeviceNode::ioevents() {
    if (!ioevents_) ioevents_ = std::make_unique<host::EventfdWatcher>();
    return *ioevents_;
}

void DeviceNode::ioevent_fired(uint64_t id) {
    std::lock_guard lock(mutex_);
    if (device_) device_->ioeventfds().fire(*device_, id);
}

int DeviceNode::find_iommufd(uint32_t tgid, int32_t fd, std::shared_ptr<IommufdFile>& out) const {
    host::UniqueFd dup;
    if (host::fd_from_process(static_cast<pid_t>(tgid), fd, dup)) return -EBADF;
    struct stat st;
    if (::fstat(dup.get(), &st) || !S_ISCHR(st.st_mode) || st.st_rdev != iommufd_rdev_)
        return -EBADFD;
    // Served by /dev/ioasid's own workers; a CUSE ioctl, not a VFIO one.
    int id = ::ioctl(dup.get(), IOASIDD_FILE_ID);
    if (id <= 0) return -EBADFD;
    out = iommufd_.find(static_cast<uint32_t>(id));
    return out ? 0 : -EBADFD;
}

int DeviceNode::open(const dispatch::Caller& caller, uint64_t& fh) {
    std::lock_guard lock(mutex_);
    auto f = std::make_unique<File>(*this, next_file_id_++, host::random_cookie());
    if (int rc = count_open(*f, caller)) return rc;
    fh = reinterpret_cast<uint64_t>(f.get());
    LOG_DEBUG("%s: open by thread %u uid %u", address_.c_str(), caller.tid, caller.uid);
    files_.emplace(fh, std::move(f));
    return 0;
}

void DeviceNode::release(uint64_t fh) {
    std::unique_ptr<File> f;
    std::lock_guard lock(mutex_);
    auto it = files_.find(fh);
    if (it == files_.end()) return;
    f = std::move(it->second);
    files_.erase(it);
    f->unbind();
    if (f->counted_cdev) {
        std::lock_guard topo_lock(topology_.mutex);
        if (const model::PciDevice* dev = topology_.topo.device(address_))
            model::group_unblock_cdev(topology_.topo, dev->group);
    }
}

// vfio_device_block_group(): a cdev open while the group's file is open
// is EBUSY, but for the one open GET_DEVICE_FD said it would make.
int DeviceNode::count_open(File& f, const dispatch::Caller& caller) {
    std::lock_guard topo_lock(topology_.mutex);
    const model::PciDevice* dev = topology_.topo.device(address_);
    model::Group* g = dev ? topology_.topo.group(dev->group) : nullptr;
    if (!g) return 0;
    if (g->group_file && g->expected_open == address_) {
        const uint32_t tgid = caller.tgid ? caller.tgid() : 0;
        if (tgid && tgid == g->expected_tgid) {
            g->expected_open.clear();
            g->expected_tgid = 0;
            f.let_in_by_group = true;
            return 0;
        }
    }
    if (int rc = model::group_block_cdev(topology_.topo, dev->group)) {
        LOG_DEBUG("%s: open refused: group %u is open through the group API", address_.c_str(),
                  dev->group);
        return rc;
    }
    f.counted_cdev = true;
    return 0;
}

int DeviceNode::open_through_group(uint64_t cookie, uint32_t tgid,
                                   std::shared_ptr<IommufdFile> set) {
    std::lock_guard lock(mutex_);
    for (auto& [fh, f] : files_)
        if (f->cookie() == cookie) {
            if (f->revoked()) return -ENODEV;
            return f->open_through_group(std::move(set), tgid);
        }
    return -EBADF;
}

int DeviceNode::ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                      dispatch::Caller& caller) {
    clear_refusal();
    auto& f = *reinterpret_cast<File*>(fh);
    if (cmd == IOASIDD_FILE_ID) {
        // Only the daemon asks, about a duplicate the VMM channel was sent.
        const uint32_t tgid = caller.tgid ? caller.tgid() : 0;
        return tgid == static_cast<uint32_t>(::getpid()) ? static_cast<int>(f.id()) : -EPERM;
    }
    if (cmd == IOASIDD_FILE_COOKIE) {
        const uint64_t cookie = f.cookie();
        return mem.write(arg, &cookie, sizeof(cookie)) ? -EFAULT : 0;
    }
    // BIND asks /dev/ioasid which file the caller's fd is before the node's
    // lock is taken: /dev/ioasid's workers (a group file's GET_DEVICE_FD)
    // wait for that lock, so no question to them may wait while it is held.
    File::LookedUp looked_up;
    vfio_device_bind_iommufd bind;
    if (cmd == VFIO_DEVICE_BIND_IOMMUFD &&
        !mem.read(arg, &bind, offsetof(vfio_device_bind_iommufd, iommufd) + 4) &&
        bind.iommufd >= 0) {
        looked_up.fd = bind.iommufd;
        looked_up.rc = find_iommufd(caller.tgid ? caller.tgid() : 0, bind.iommufd, looked_up.file);
    }
    std::lock_guard lock(mutex_);
    // A revoked file is still ioasidd's: the preload library keeps sending
    // its region access here, and hears ENODEV as from a removed device.
    if (f.revoked() && cmd != IOASIDD_NODE_KIND) return -ENODEV;
    f.begin_call(caller);
    f.looked_up = std::move(looked_up);
    const int rc = dispatch::vfio_device_ioctl(f, cmd, arg, mem);
    f.looked_up = {};
    return rc;
}

dispatch::Footprint DeviceNode::footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                          dispatch::UserMemory& known) {
    auto& f = *reinterpret_cast<File*>(fh);
    if (cmd == IOASIDD_FILE_COOKIE) return {{}, {{arg, sizeof(uint64_t)}}};
    std::lock_guard lock(mutex_);
    if (f.revoked()) return {};
    return dispatch::vfio_device_footprint(f, cmd, arg, known);
}

int DeviceNode::revoke(const std::string& why) {
    std::lock_guard lock(mutex_);
    int bound = 0;
    for (auto& [fh, f] : files_) {
        if (f->bound()) {
            LOG_WARN("%s: revoked from its client: %s", address_.c_str(), why.c_str());
            ++bound;
        }
        f->revoke();
    }
    return bound;
}

int DeviceNode::channel(uint32_t file_id, pid_t peer, const ioasidd_channel_request& req,
                        ioasidd_channel_reply& reply, host::UniqueFd& out) {
    std::lock_guard lock(mutex_);
    File* f = nullptr;
    for (auto& [fh, file] : files_)
        if (file->id() == file_id) f = file.get();
    if (!f) return -EBADF;  // released meanwhile: the sender's fd was closed
    if (f->revoked()) return -ENODEV;
    if (!f->bound()) {
        LOG_DEBUG("%s: vmm channel: pid %d's file is not bound yet", address_.c_str(), peer);
        return -EINVAL;
    }
    if (static_cast<uint32_t>(peer) != f->binder()) {
        LOG_DEBUG("%s: vmm channel: pid %d sent a file pid %u bound", address_.c_str(), peer,
                  f->binder());
        return -EPERM;
    }
    switch (req.op) {
        case IOASIDD_CHANNEL_MMAP:
            return f->mmap_file(req, reply.offset, out);
        case IOASIDD_CHANNEL_KVM_FILE:
            return f->kvm_file(out);
        default:
            LOG_DEBUG("%s: vmm channel: unknown op %u", address_.c_str(), req.op);
            return -EOPNOTSUPP;
    }
}

bool DeviceNode::wants_arguments() const {
    return trace && trace->on();
}

void DeviceNode::completed(const cuse::IoctlRecord& rec) {
    const char* name = dispatch::vfio_device_command_name(rec.cmd);
    // Read on the thread that ran the call, which the transport completes on.
    const char* why = rec.result < 0 ? refusal() : nullptr;
    if (trace) trace->record(node_name, dispatch::NodeKind::Device, name, rec, why);
    LOG_DEBUG("%s: %s (0x%x) -> %d in %u round trip(s)%s%s", address_.c_str(),
              name ? name : "other", rec.cmd, rec.result, rec.round_trips, why ? ": " : "",
              why ? why : "");
}

}  // namespace ioasid::daemon
