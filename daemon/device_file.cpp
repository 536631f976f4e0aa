#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "daemon/device_file.h"
#include "daemon/forwarding.h"
#include "daemon/log.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/binding.h"
#include "model/refusal.h"
#include "model/vfio_group.h"

namespace ioasid::daemon {

int DeviceNode::File::bind(int32_t fd, uint32_t& dev_id) {
    if (bound()) return refuse(-EINVAL, "BIND: the file is bound already");
    std::shared_ptr<IommufdFile> iommufd;
    int rc = fd == looked_up.fd ? looked_up.rc : node_.find_iommufd(caller_tgid(), fd, iommufd);
    if (fd == looked_up.fd) iommufd = looked_up.file;
    if (rc) return rc;
    return bind_to(std::move(iommufd), caller_tgid(), dev_id);
}

int DeviceNode::File::bind_to(std::shared_ptr<IommufdFile> iommufd, uint32_t tgid,
                              uint32_t& dev_id) {
    // vfio_df_open(): the cdev path opens a device for one file only.
    if (node_.bound_) return refuse(-EINVAL, "BIND: another file of the device is bound");
    int rc;
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
    binder_ = tgid;
    node_.bound_ = this;
    if (node_.device_) node_.device_->set_dma(&node_.dma_);
    dev_id = dev_id_;
    LOG_INFO("%s: bound to pid %u's context as device %u", node_.address_.c_str(), tgid, dev_id_);
    return 0;
}

// vfio_df_group_open(): the group gains a user (EINVAL before SET_IOMMU),
// then the device is bound to what the group is set to and attached to its
// IOAS, as the kernel's container or iommufd compat attach does.
int DeviceNode::File::open_through_group(std::shared_ptr<IommufdFile> set, uint32_t tgid) {
    if (bound() || !let_in_by_group) return -EBADF;
    model::SharedTopology& shared = node_.topology_;
    uint32_t group;
    {
        std::lock_guard ctx_lock(set->ctx.mutex());
        std::lock_guard topo_lock(shared.mutex);
        const model::PciDevice* dev = shared.topo.device(node_.address_);
        if (!dev) return -ENODEV;
        group = dev->group;
        if (int rc = model::group_use(shared.topo, group)) return rc;
    }
    uint32_t dev_id;
    int rc = bind_to(set, tgid, dev_id);
    if (rc == 0) {
        uint32_t pt_id = set->ctx.vfio_ioas();
        rc = pt_id ? attach(pt_id) : -ENODEV;  // iommufd_vfio_compat_ioas_get_id()
        if (rc) unbind();
    }
    std::lock_guard ctx_lock(set->ctx.mutex());
    std::lock_guard topo_lock(shared.mutex);
    if (rc) {
        model::group_unuse(&set->ctx, shared.topo, group);
        return rc;
    }
    through_group_ = true;
    group_id_ = group;
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
        // The group's user goes with it (the last may end a closed group).
        if (through_group_) model::group_unuse(&iommufd_->ctx, node_.topology_.topo, group_id_);
    }
    through_group_ = false;
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
    return {model::dependent_devid(iommufd_->ctx, topo, address), dev ? dev->group : 0,
            dev != nullptr};
}

// The group files the library names by cookie; IommufdHandler's lookup takes
// only its own leaf lock, so it may run under the node's.
int DeviceNode::File::group_file(uint64_t cookie, uint32_t& group) {
    std::shared_ptr<IommufdFile> f = node_.iommufd_.find_cookie(cookie);
    if (!f) return -EBADF;  // closed since the library asked its cookie
    if (!f->is_group) return refuse(-EINVAL, "PCI_HOT_RESET: an fd of /dev/ioasid, not a group");
    group = f->group;
    return 0;
}


// The groups' own VFIO handles, held across the reset.
int DeviceNode::File::hot_reset(const std::vector<uint32_t>& groups) {
    std::vector<std::shared_ptr<ForwardedGroup>> held;
    std::vector<const host::VfioGroup*> affected;
    for (uint32_t g : groups) {
        held.push_back(node_.forwarding_->find(g, iommufd_->ctx));
        if (!held.back())
            return refuse(-EINVAL, "PCI_HOT_RESET: a group it resets has no device open here");
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

}  // namespace ioasid::daemon
