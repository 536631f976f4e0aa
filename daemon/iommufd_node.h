// /dev/ioasid: one iommufd context per open file.
#pragma once

#include <mutex>
#include <unordered_map>

#include "cuse/node.h"
#include "daemon/stats.h"
#include "model/context.h"

namespace ioasid {

class IommufdNode final : public cuse::NodeHandler {
  public:
    ~IommufdNode() override;

    int open(const dispatch::Caller& caller, uint64_t& fh) override;
    void release(uint64_t fh) override;
    int ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
              dispatch::Caller& caller) override;
    dispatch::Footprint footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                  dispatch::UserMemory& known) override;
    void completed(const cuse::IoctlRecord& rec) override;

    size_t open_files() const;
    const CommandStats& stats() const { return stats_; }

  private:
    struct File {
        model::Context ctx;
        uint32_t opener_tgid = 0;
        // The last thread seen and its process, so MAP need not read /proc
        // every time. A thread id only changes owner when its thread dies.
        uint32_t last_tid = 0;
        uint32_t last_tgid = 0;
    };

    // The fh handed to the kernel is the File's address; the set owns them.
    mutable std::mutex files_mutex_;
    std::unordered_map<uint64_t, std::unique_ptr<File>> files_;
    CommandStats stats_;

    static File& file(uint64_t fh) { return *reinterpret_cast<File*>(fh); }
};

}  // namespace ioasid
