// /dev/ioasid's handler: the iommufd ABI, one context per open file (and an
// open made a VFIO container or group, group_files.h).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuse/node.h"
#include "daemon/stats.h"
#include "model/context.h"

namespace ioasid::daemon {

// One open of /dev/ioasid. A device bound to it holds it too, as the
// kernel's device holds its iommufd_ctx: the context outlives the client's
// close until its last device is unbound, and dies with everything in it.
struct IommufdFile {
    IommufdFile(uint32_t file_id, uint64_t file_cookie) : id(file_id), cookie(file_cookie) {}
    ~IommufdFile();
    const uint32_t id;      // what IOASIDD_FILE_ID answers
    const uint64_t cookie;  // what IOASIDD_FILE_COOKIE answers
    model::Context ctx;     // a container's too (ctx.vfio_container().on)
    // The file made /dev/vfio/N (IOASIDD_VFIO_GROUP): its group, and what
    // the group is set to (a container or an iommufd), under group_mutex.
    std::atomic<bool> is_group{false};
    uint32_t group = 0;
    std::mutex group_mutex;
    std::shared_ptr<IommufdFile> group_set;
    uint32_t opener_tgid = 0;
    uint32_t opener_uid = 0;
    // The last thread seen and its process, so MAP need not read /proc
    // every time. A thread id only changes owner when its thread dies.
    uint32_t last_tid = 0;
    uint32_t last_tgid = 0;
};

class GroupFiles;

class IommufdHandler final : public cuse::NodeHandler {
  public:
    explicit IommufdHandler(model::SharedTopology* topology = nullptr, bool test_ops = false)
        : topology_(topology), test_ops_(test_ops) {}
    ~IommufdHandler() override;

    int open(const dispatch::Caller& caller, uint64_t& fh) override;
    void release(uint64_t fh) override;
    int ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
              dispatch::Caller& caller) override;
    dispatch::Footprint footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                  dispatch::UserMemory& known) override;
    void completed(const cuse::IoctlRecord& rec) override;
    bool wants_arguments() const override;

    size_t open_files() const;
    const CommandStats& stats() const { return stats_; }
    // The open file IOASIDD_FILE_ID named, while the kernel still has it open.
    std::shared_ptr<IommufdFile> find(uint32_t file_id) const;
    // The open file whose IOASIDD_FILE_COOKIE is `cookie`, while open.
    std::shared_ptr<IommufdFile> find_cookie(uint64_t cookie) const;
    // Serves the files made groups (IOASIDD_VFIO_GROUP); none: ENODEV.
    // Set before the node serves.
    GroupFiles* groups = nullptr;
    // The files the kernel has open now.
    std::vector<std::shared_ptr<IommufdFile>> files() const;
    // Where completed ioctls are traced, under which node name (set before
    // the node serves).
    class Trace* trace = nullptr;
    std::string node_name = "ioasid";
    // Told of every open and close (for the control socket's events).
    std::function<void(const IommufdFile&, bool opened)> on_open_close;
    // Each new context's (see model::Context::set_domain_pins); none: its
    // domains charge nothing.
    model::Context::DomainPinsFactory domain_pins;

  private:
    using File = IommufdFile;
    model::SharedTopology* topology_;
    const bool test_ops_;  // IOMMU_TEST_CMD (--test-ops)

    // The fh handed to the kernel is the File's address; the maps hold it.
    mutable std::mutex files_mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<File>> files_;
    std::map<uint32_t, uint64_t> by_id_;
    std::unordered_map<uint64_t, uint64_t> by_cookie_;
    uint32_t next_id_ = 1;
    CommandStats stats_;

    static File& file(uint64_t fh) { return *reinterpret_cast<File*>(fh); }
    // IOASIDD_VFIO_CONTAINER and IOASIDD_VFIO_GROUP: what a fresh file becomes.
    int become(File& f, uint32_t cmd, uint64_t arg, const dispatch::Caller& caller);
};

}  // namespace ioasid::daemon
