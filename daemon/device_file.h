// The open file of a device node (DeviceNode::File), shared by the node's
// sources: device_node.cpp (the node) and device_file.cpp (the file).
// Private to daemon/.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "daemon/device_node.h"
#include "dispatch/vfio_device.h"
#include "host/process.h"
#include "host/vfio.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"

namespace ioasid::daemon {

// One open of the node: the kernel's vfio_device_file. Its commands run
// with the node's lock held.
class DeviceNode::File final : public dispatch::DeviceBackend, public dispatch::ForwardTarget {
  public:
    File(DeviceNode& node, uint32_t id, uint64_t cookie) : node_(node), id_(id), cookie_(cookie) {}

    void begin_call(const dispatch::Caller& caller) {
        tgid_ = caller.tgid;
        tid_ = caller.tid;
    }

    bool bound() const override { return iommufd_ != nullptr; }
    bool through_group() const override { return through_group_; }
    int bind(int32_t fd, uint32_t& dev_id) override;
    // Bound to `iommufd` for process `tgid`: BIND's work after the fd lookup.
    int bind_to(std::shared_ptr<IommufdFile> iommufd, uint32_t tgid, uint32_t& dev_id);
    // GET_DEVICE_FD's: through the group, bound to what it is set to.
    int open_through_group(std::shared_ptr<IommufdFile> set, uint32_t tgid);
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
    int group_file(uint64_t cookie, uint32_t& group) override;
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
    uint64_t cookie() const { return cookie_; }
    // How the file's open counted in its group (model/vfio_group.h): as a
    // cdev (blocking the group file) or as one the group let in.
    bool counted_cdev = false;
    bool let_in_by_group = false;
    // BIND's iommufd, looked up before the node's lock was taken.
    struct LookedUp {
        int32_t fd = -1;
        int rc = 0;
        std::shared_ptr<IommufdFile> file;
    } looked_up;
    // The process whose BIND bound the file.
    uint32_t binder() const { return binder_; }
    // The files the VMM channel hands out for this one.
    int mmap_file(const ioasidd_channel_request& req, __u64& offset, host::UniqueFd& out);
    int kvm_file(host::UniqueFd& out);

  private:
    DeviceNode& node_;
    const uint32_t id_;      // what IOASIDD_FILE_ID answers
    const uint64_t cookie_;  // what IOASIDD_FILE_COOKIE answers
    bool through_group_ = false;
    uint32_t group_id_ = 0;  // the group it was opened through
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

}  // namespace ioasid::daemon
