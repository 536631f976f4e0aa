// /dev/vfio/deviceN: one emulated device behind the VFIO device cdev ABI.
//
// Locks, in the only order they are taken: the node's (the device and who
// is bound to it), then the bound context's, then the topology's. A BIND
// asks /dev/ioasid's node which open file the caller's fd is before it
// takes any: /dev/ioasid's workers take the node's lock for a group file's
// GET_DEVICE_FD.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cuse/node.h"
#include "daemon/forwarding.h"
#include "daemon/iommufd_handler.h"
#include "devices/emulated.h"
#include "host/eventfd_watcher.h"
#include "host/process.h"
#include "host/unique_fd.h"
#include "ioasid/ioasidd.h"
#include "iommu/device_dma.h"
#include "model/topology.h"

namespace ioasid::daemon {

class DeviceNode final : public cuse::NodeHandler {
  public:
    // `iommufd_rdev` is /dev/ioasid's device number: a BIND fd must be it.
    // Without an emulated `device`, the node forwards the host device at
    // `address` (bound to vfio-pci) through `forwarding`.
    DeviceNode(std::string address, std::unique_ptr<devices::EmulatedPci> device,
               model::SharedTopology& topology, IommufdHandler& iommufd, dev_t iommufd_rdev,
               Forwarding* forwarding = nullptr);
    ~DeviceNode() override;

    int open(const dispatch::Caller& caller, uint64_t& fh) override;
    void release(uint64_t fh) override;
    int ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
              dispatch::Caller& caller) override;
    dispatch::Footprint footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                  dispatch::UserMemory& known) override;
    void completed(const cuse::IoctlRecord& rec) override;
    bool wants_arguments() const override;

    const std::string& address() const { return address_; }
    // Told of each DMA of the emulated device that hit an IOMMU fault. Set
    // before the node serves.
    std::function<void(const std::string& address, uint64_t iova, uint64_t length, bool write)>
        on_dma_fault;
    // Where completed ioctls are traced, and under which node name.
    class Trace* trace = nullptr;
    std::string node_name;
    // The device is no longer the client's to use (its group stopped being
    // viable, or it went away): every open file is unbound, its DMA and
    // interrupts stop, and its next command fails with ENODEV.
    // Returns how many bound clients lost the device.
    int revoke(const std::string& why);

    // The VMM channel's request about open file `file_id` (what
    // IOASIDD_FILE_ID answered on the daemon's duplicate of it), sent by
    // process `peer`: 0 with `out` the file it is to get (none: nothing to
    // get), or -errno. See ioasid/ioasidd.h.
    int channel(uint32_t file_id, pid_t peer, const ioasidd_channel_request& req,
                ioasidd_channel_reply& reply, host::UniqueFd& out);

    // IOASIDD_GROUP_OPEN_DEVICE: the open of this node that IOASIDD_FILE_COOKIE
    // named `cookie` (made by process `tgid` while the group expected it)
    // becomes the device file GET_DEVICE_FD returns: through the group
    // (model::group_use), bound to `set` (the context the group is set to)
    // and attached to its IOAS. 0, -EBADF (no such open, or not one the
    // group let in), or the errno of the use, bind or attach.
    int open_through_group(uint64_t cookie, uint32_t tgid, std::shared_ptr<IommufdFile> set);

  private:
    class File;
    const std::string address_;
    model::SharedTopology& topology_;
    IommufdHandler& iommufd_;
    const dev_t iommufd_rdev_;
    Forwarding* const forwarding_;

    std::mutex mutex_;
    std::unique_ptr<devices::EmulatedPci> device_;  // null: forwarded
    // The device's DMA, for the file it is bound to (iommu/device_dma.h),
    // into the client's memory by process_vm_readv/writev.
    struct ProcessMemory final : iommu::ClientMemory {
        int read(uint32_t pid, uint64_t va, void* dst, uint64_t len) override {
            return host::process_read(static_cast<pid_t>(pid), va, dst, len);
        }
        int write(uint32_t pid, uint64_t va, const void* src, uint64_t len) override {
            return host::process_write(static_cast<pid_t>(pid), va, src, len);
        }
    } client_memory_;
    iommu::DeviceDma dma_;
    File* bound_ = nullptr;  // the one file the device is open for (cdev rule)
    std::unordered_map<uint64_t, std::unique_ptr<File>> files_;
    uint32_t next_file_id_ = 1;
    // The emulated device's ioeventfds are waited on here (made at the first).
    std::unique_ptr<host::EventfdWatcher> ioevents_;

    host::EventfdWatcher& ioevents();
    iommu::DeviceDma::Binding bound_dma() const;
    // Counts a new open in the device's group (see model/vfio_group.h).
    int count_open(File& f, const dispatch::Caller& caller);
    // An ioeventfd's eventfd was signalled: its write, under the node's lock.
    void ioevent_fired(uint64_t id);

    // The /dev/ioasid open file behind fd `fd` of process `tgid`: 0, -EBADF
    // (no such fd), -EBADFD (not an open of our /dev/ioasid).
    int find_iommufd(uint32_t tgid, int32_t fd, std::shared_ptr<IommufdFile>& out) const;
};

}  // namespace ioasid::daemon
