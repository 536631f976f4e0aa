#include "daemon/device_node.h"

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

namespace ioasid {

// One open of the node: the kernel's vfio_device_file. Its commands run
// with the node's lock held.
class DeviceNode::File final : public dispatch::DeviceBackend, public dispatch::ForwardTarget {
  public:
    File(DeviceNode& node, uint32_t id) : node_(node), id_(id) {}

    void begin_call(const dispatch::Caller& caller) {
        tgid_ = caller.tgid;
        tid_ = caller.tid;
    }

    bool bound() const override { return iommufd_ != nullptr; }
    int bind(int32_t fd, uint32_t& dev_id) override;
    void unbind() override;
    int attach(uint32_t& pt_id) override;
    void detach() override;
    devices::EmulatedPci& device() override { return *node_.device_; }
    const devices::EventfdResolver& eventfds() override { return resolver_; }
    const devices::Ioeventfds::Watcher& ioevent_watcher() override { return ioevent_watcher_; }
    dispatch::ForwardTarget* forwarded() override { return device_fd_ ? this : nullptr; }

    // The real device, for a forwarded node.
    int call(unsigned long cmd, void* arg) override {
        return arg ? host::vfio_device_call(device_fd_.get(), cmd, arg)
                   : host::vfio_device_call(device_fd_.get(), cmd);
    }
    int64_t pread(void* buf, uint64_t len, uint64_t offset) override {
        ssize_t n = ::pread(device_fd_.get(), buf, len, static_cast<off_t>(offset));
        return n < 0 ? -errno : n;
    }
    int64_t pwrite(const void* buf, uint64_t len, uint64_t offset) override {
        ssize_t n = ::pwrite(device_fd_.get(), buf, len, static_cast<off_t>(offset));
        return n < 0 ? -errno : n;
    }
    int32_t take_fd(int32_t user_fd) override {
        host::UniqueFd dup;
        if (host::fd_from_process(static_cast<pid_t>(caller_tgid()), user_fd, dup)) return -1;
        taken_.push_back(std::move(dup));
        return taken_.back().get();
    }
    void end_call() override { taken_.clear(); }
    Dependent dependent(uint16_t segment, uint8_t bus, uint8_t devfn) override;
    int hot_reset(const std::vector<uint32_t>& groups) override;
    // Asked once per device fd: a probe of DMA_LOGGING_START answers 0 only
    // when the driver has log_ops.
    bool tracks_dma() override {
        if (tracks_dma_ < 0) {
            uint32_t probe[2] = {8, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                                        VFIO_DEVICE_FEATURE_DMA_LOGGING_START};
            tracks_dma_ = call(VFIO_DEVICE_FEATURE, probe) == 0;
        }
        return tracks_dma_ > 0;
    }

    // The info commands have no side effect on a real device.
    int query(unsigned long cmd, void* arg) override { return call(cmd, arg); }

    // A fast read's value, kept for the thread that made it (a few at once:
    // a thread takes its value with its next call).
    void hold_read(uint32_t low_bits) override {
        if (held_.size() >= 64) held_.clear();
        held_[tid_] = low_bits;
    }
    int take_held_read() override {
        auto it = held_.find(tid_);
        if (it == held_.end()) return -ENOENT;
        const int v = static_cast<int>(it->second);
        held_.erase(it);
        return v;
    }

    void revoke() {
        unbind();
        revoked_ = true;
    }
    bool revoked() const { return revoked_; }
    model::Context* context() const { return iommufd_ ? &iommufd_->ctx : nullptr; }
    uint32_t dev_id() const { return dev_id_; }
    uint32_t id() const { return id_; }
    // The process whose BIND bound the file.
    uint32_t binder() const { return binder_; }
    // The files the VMM channel hands out for this one.
    int mmap_file(const ioasidd_channel_request& req, __u64& offset, host::UniqueFd& out);
    int kvm_file(host::UniqueFd& out);

  private:
    DeviceNode& node_;
    const uint32_t id_;  // what IOASIDD_FILE_ID answers
    uint32_t binder_ = 0;
    std::shared_ptr<IommufdFile> iommufd_;
    uint32_t dev_id_ = 0;
    bool revoked_ = false;
    std::function<uint32_t()> tgid_;
    uint32_t tid_ = 0;                             // the calling thread
    std::unordered_map<uint32_t, uint32_t> held_;  // see hold_read

    // A forwarded node's group, device fd, and the caller's fds of one call.
    std::shared_ptr<ForwardedGroup> group_;
    host::UniqueFd device_fd_;
    int tracks_dma_ = -1;  // not asked yet
    std::vector<host::UniqueFd> taken_;

    uint32_t caller_tgid() const { return tgid_ ? tgid_() : 0; }
    int open_forwarded(model::Context& ctx);
    void close_forwarded();
    // eventfd_ctx_fdget() on the caller's fd: our duplicate, -EBADF or -EINVAL.
    int caller_eventfd(int32_t fd, host::UniqueFd& out) const;
    int resolve_eventfd(int32_t fd, std::shared_ptr<devices::IrqSignal>& out) const;
    // The caller's eventfd, then the node's watch of it.
    devices::Ioeventfds::Watcher ioevent_watcher_ = [this](int32_t fd, uint64_t id,
                                                           std::shared_ptr<void>& watch) {
        host::UniqueFd dup;
        if (int rc = caller_eventfd(fd, dup)) return rc;
        DeviceNode& node = node_;
        return node.ioevents().watch(
            std::move(dup), [&node, id] { node.ioevent_fired(id); }, watch);
    };
    devices::EventfdResolver resolver_ = [this](int32_t fd, auto& out) {
        return resolve_eventfd(fd, out);
    };
};

int DeviceNode::File::bind(int32_t fd, uint32_t& dev_id) {
    if (bound()) return -EINVAL;  // one device cannot be bound twice
    std::shared_ptr<IommufdFile> iommufd;
    int rc = node_.find_iommufd(caller_tgid(), fd, iommufd);
    if (rc) return rc;
    // vfio_df_open(): the cdev path opens a device for one file only.
    if (node_.bound_) return -EINVAL;
    {
        std::lock_guard ctx_lock(iommufd->ctx.mutex());
        std::lock_guard topo_lock(node_.topology_.mutex);
        rc = model::bind_device(iommufd->ctx, node_.topology_.topo, node_.address_, dev_id_);
    }
    if (rc) return rc;
    if (!node_.device_ && (rc = open_forwarded(iommufd->ctx))) {
        {
            std::lock_guard ctx_lock(iommufd->ctx.mutex());
            std::lock_guard topo_lock(node_.topology_.mutex);
            model::unbind_device(iommufd->ctx, node_.topology_.topo, dev_id_);
        }
        close_forwarded();  // after the unbind, which may leave the group unowned
        return rc;
    }
    iommufd_ = std::move(iommufd);
    binder_ = caller_tgid();
    node_.bound_ = this;
    if (node_.device_) node_.device_->set_dma(&node_.dma_);
    dev_id = dev_id_;
    LOG_INFO("%s: bound to pid %u's context as device %u", node_.address_.c_str(), caller_tgid(),
             dev_id_);
    return 0;
}

void DeviceNode::File::unbind() {
    if (!bound()) return;
    // vfio-pci's close: interrupts off, DMA stopped, the device reset.
    if (node_.device_) node_.device_->quiesce();
    node_.bound_ = nullptr;
    {
        std::lock_guard ctx_lock(iommufd_->ctx.mutex());
        std::lock_guard topo_lock(node_.topology_.mutex);
        model::unbind_device(iommufd_->ctx, node_.topology_.topo, dev_id_);
    }
    close_forwarded();
    LOG_INFO("%s: unbound from device %u", node_.address_.c_str(), dev_id_);
    // The last holder of a context its client closed destroys it here.
    iommufd_.reset();
    dev_id_ = 0;
    binder_ = 0;
}

// The group's container (shared with its other bound devices), then this
// device's fd from it: vfio-pci opens the device, as the cdev's bind does.
int DeviceNode::File::open_forwarded(model::Context& ctx) {
    uint32_t group;
    {
        std::lock_guard lock(node_.topology_.mutex);
        group = node_.topology_.topo.device(node_.address_)->group;
    }
    int rc = node_.forwarding_->acquire(group, node_.address_, ctx, group_);
    if (rc) return rc;
    rc = group_->vfio().device_fd(node_.address_, device_fd_);
    if (rc) {
        LOG_WARN("%s: cannot open the device through the %s: %s", node_.address_.c_str(),
                 group_->vfio().api(), std::strerror(-rc));
        return rc;
    }
    // With the device in, the group's address space knows its IOVA ranges.
    std::lock_guard lock(node_.topology_.mutex);
    model::Group* g = node_.topology_.topo.group(group);
    g->mirror = group_.get();
    group_->describe(*g);
    return 0;
}

// The device fd first (vfio-pci's close), then the group's container when
// no device of the group is bound any more.
void DeviceNode::File::close_forwarded() {
    if (!group_) return;
    device_fd_.reset();
    tracks_dma_ = -1;
    {
        std::lock_guard lock(node_.topology_.mutex);
        model::Group* g =
            node_.topology_.topo.group(node_.topology_.topo.device(node_.address_)->group);
        if (g && g->owner_count == 0) g->mirror = nullptr;
    }
    group_.reset();
}

dispatch::ForwardTarget::Dependent DeviceNode::File::dependent(uint16_t segment, uint8_t bus,
                                                               uint8_t devfn) {
    char address[16];
    std::snprintf(address, sizeof(address), "%04x:%02x:%02x.%x", segment, bus, devfn >> 3,
                  devfn & 7);
    std::lock_guard ctx_lock(iommufd_->ctx.mutex());
    std::lock_guard topo_lock(node_.topology_.mutex);
    const model::Topology& topo = node_.topology_.topo;
    const model::PciDevice* dev = topo.device(address);
    return {model::dependent_devid(iommufd_->ctx, topo, address), dev ? dev->group : 0};
}

// The groups' own VFIO handles, held across the reset.
int DeviceNode::File::hot_reset(const std::vector<uint32_t>& groups) {
    std::vector<std::shared_ptr<ForwardedGroup>> held;
    std::vector<const host::VfioGroup*> affected;
    for (uint32_t g : groups) {
        held.push_back(node_.forwarding_->find(g, iommufd_->ctx));
        if (!held.back()) return -EINVAL;
        affected.push_back(&held.back()->vfio());
    }
    int rc = group_->vfio().hot_reset(device_fd_.get(), affected);
    LOG_INFO("%s: PCI hot reset of %zu group(s): %s", node_.address_.c_str(), groups.size(),
             rc ? std::strerror(-rc) : "done");
    return rc;
}

// A forwarded device's regions are the real device file's, at the same
// offsets (GET_REGION_INFO came from it): its kernel checks the map. An
// emulated device lends the memory of a BAR that is plain memory.
int DeviceNode::File::mmap_file(const ioasidd_channel_request& req, __u64& offset,
                                host::UniqueFd& out) {
    int fd = device_fd_.get();
    uint64_t at = req.offset;
    if (!device_fd_) {
        int rc =
            dispatch::vfio_device_mmap(*node_.device_, req.offset, req.length, req.flags, fd, at);
        if (rc) {
            LOG_DEBUG("%s: mmap of 0x%llx bytes at 0x%llx: %s", node_.address_.c_str(),
                      static_cast<unsigned long long>(req.length),
                      static_cast<unsigned long long>(req.offset),
                      rc == -ENODEV ? "a region that traps, accessed by read and write"
                                    : "refused as vfio-pci refuses it");
            return rc;
        }
    }
    out.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!out) return -errno;
    offset = at;
    LOG_DEBUG("%s: pid %u maps 0x%llx bytes at 0x%llx of the %s", node_.address_.c_str(), binder_,
              static_cast<unsigned long long>(req.length),
              static_cast<unsigned long long>(req.offset),
              device_fd_ ? "real device" : "emulated BAR's memory");
    return 0;
}

// KVM's kvm-vfio device takes the real VFIO file of a forwarded device;
// an emulated device needs nothing of KVM.
int DeviceNode::File::kvm_file(host::UniqueFd& out) {
    if (!device_fd_) return 0;
    out.reset(::fcntl(group_->vfio().kvm_file(device_fd_.get()), F_DUPFD_CLOEXEC, 0));
    return out ? 0 : -errno;
}

int DeviceNode::File::attach(uint32_t& pt_id) {
    std::lock_guard ctx_lock(iommufd_->ctx.mutex());
    std::lock_guard topo_lock(node_.topology_.mutex);
    return model::attach_device(iommufd_->ctx, node_.topology_.topo, dev_id_, pt_id);
}

void DeviceNode::File::detach() {
    std::lock_guard ctx_lock(iommufd_->ctx.mutex());
    std::lock_guard topo_lock(node_.topology_.mutex);
    model::detach_device(iommufd_->ctx, node_.topology_.topo, dev_id_);
}

// eventfd_ctx_fdget() on the caller's fd: EBADF for no fd, EINVAL for a
// file that is not an eventfd.
int DeviceNode::File::caller_eventfd(int32_t fd, host::UniqueFd& out) const {
    if (host::fd_from_process(static_cast<pid_t>(caller_tgid()), fd, out)) return -EBADF;
    return host::is_eventfd(out.get()) ? 0 : -EINVAL;
}

int DeviceNode::File::resolve_eventfd(int32_t fd, std::shared_ptr<devices::IrqSignal>& out) const {
    host::UniqueFd dup;
    if (int rc = caller_eventfd(fd, dup)) return rc;
    out = std::make_shared<host::EventfdSignal>(std::move(dup));
    return 0;
}

int DeviceNode::Dma::read(uint64_t iova, void* dst, uint64_t len) {
    int rc = access(iova, dst, len, false);
    if (rc && node_.on_dma_fault) node_.on_dma_fault(node_.address_, iova, len, false);
    return rc;
}

int DeviceNode::Dma::write(uint64_t iova, const void* src, uint64_t len) {
    int rc = access(iova, const_cast<void*>(src), len, true);
    if (rc && node_.on_dma_fault) node_.on_dma_fault(node_.address_, iova, len, true);
    return rc;
}

// Runs inside a device command, with the node's lock held. The context's
// lock is held across the copy so that an UNMAP cannot complete while a
// DMA still reaches the pages it unmapped.
int DeviceNode::Dma::access(uint64_t iova, void* buf, uint64_t len, bool write) {
    File* f = node_.bound_;
    model::Context* ctx = f ? f->context() : nullptr;
    if (!ctx) return -EFAULT;
    std::lock_guard lock(ctx->mutex());
    model::Ioas* ioas = model::device_ioas(*ctx, f->dev_id());
    std::vector<model::Segment> segs;
    if (!ioas || ioas->translate(iova, len, write, segs)) return -EFAULT;
    auto* p = static_cast<char*>(buf);
    for (const model::Segment& s : segs) {
        // 0 once the process that mapped has exited: its pid may be another's.
        auto pid = static_cast<pid_t>(ctx->source_pid(s.source));
        if (!pid) return -EFAULT;
        int rc = write ? host::process_write(pid, s.user_va, p, s.length)
                       : host::process_read(pid, s.user_va, p, s.length);
        if (rc) return rc;
        p += s.length;
    }
    return 0;
}

DeviceNode::DeviceNode(std::string address, std::unique_ptr<devices::EmulatedPci> device,
                       model::SharedTopology& topology, IommufdNode& iommufd, dev_t iommufd_rdev,
                       Forwarding* forwarding)
    : address_(std::move(address)),
      topology_(topology),
      iommufd_(iommufd),
      iommufd_rdev_(iommufd_rdev),
      forwarding_(forwarding),
      device_(std::move(device)) {}

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
    auto f = std::make_unique<File>(*this, next_file_id_++);
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
}

int DeviceNode::ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                      dispatch::Caller& caller) {
    auto& f = *reinterpret_cast<File*>(fh);
    if (cmd == IOASIDD_FILE_ID) {
        // Only the daemon asks, about a duplicate the VMM channel was sent.
        const uint32_t tgid = caller.tgid ? caller.tgid() : 0;
        return tgid == static_cast<uint32_t>(::getpid()) ? static_cast<int>(f.id()) : -EPERM;
    }
    std::lock_guard lock(mutex_);
    // A revoked file is still ioasidd's: the preload library keeps sending
    // its region access here, and hears ENODEV as from a removed device.
    if (f.revoked() && cmd != IOASIDD_NODE_KIND) return -ENODEV;
    f.begin_call(caller);
    return dispatch::vfio_device_ioctl(f, cmd, arg, mem);
}

dispatch::Footprint DeviceNode::footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                          dispatch::UserMemory& known) {
    auto& f = *reinterpret_cast<File*>(fh);
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
    if (trace) trace->record(node_name, dispatch::NodeKind::Device, name, rec);
    LOG_DEBUG("%s: %s (0x%x) -> %d in %u round trip(s)", address_.c_str(), name ? name : "other",
              rec.cmd, rec.result, rec.round_trips);
}

}  // namespace ioasid
