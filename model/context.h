// One open of /dev/ioasid: the kernel's struct iommufd_ctx.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/objects.h"

namespace ioasid::model {

// How pinned pages are charged against RLIMIT_MEMLOCK (IOMMU_OPTION_RLIMIT_MODE).
enum class AccountMode : uint8_t { User = 0, Mm = 1 };

struct SharedTopology;

// A process whose memory areas' user_va name. Its pid names it only while it
// lives: after it exits, another process may get the same pid, and the
// daemon must never reach that one's memory for this context.
class SourceProcess {
  public:
    virtual ~SourceProcess() = default;
    // False once the process has exited.
    virtual bool alive() const = 0;
};

class Context {
  public:
    // The devices this context's commands may name (HWPT_ALLOC, GROUP_STATUS);
    // none in contexts made for tests of the address-space commands alone.
    SharedTopology* topology() const { return topology_; }
    void set_topology(SharedTopology* t) { topology_ = t; }

    ObjectTable& objects() { return objects_; }
    const ObjectTable& objects() const { return objects_; }

    Ioas* ioas(uint32_t id) const;
    uint32_t alloc_ioas();  // 0 when the id space is full
    // Makes each new IOAS's domain pins (Ioas::set_domain_pins); none: the
    // model alone, which pins nothing.
    using DomainPinsFactory = std::function<std::unique_ptr<AreaMirror>(const Context&)>;
    void set_domain_pins(DomainPinsFactory f) { domain_pins_ = std::move(f); }

    // DESTROY: clears the VFIO compatibility IOAS if it was this object.
    int destroy(uint32_t id);

    AccountMode account_mode() const { return account_mode_; }
    // OPTION RLIMIT_MODE SET; `privileged` is CAP_SYS_RESOURCE of the caller.
    int set_account_mode(uint64_t value, bool privileged);

    // VFIO_IOAS: 0 when no compatibility IOAS is set.
    uint32_t vfio_ioas() const { return vfio_ioas_; }
    void set_vfio_ioas(uint32_t id) { vfio_ioas_ = id; }

    // The file is /dev/vfio/vfio (drivers/vfio/container.c) rather than an
    // iommufd: the groups set to it, in order, and the IOMMU type
    // VFIO_SET_IOMMU chose (0: not yet). See model/vfio_group.h.
    struct VfioContainer {
        bool on = false;
        std::vector<uint32_t> groups;
        uint32_t iommu_type = 0;
    };
    VfioContainer& vfio_container() { return container_; }
    const VfioContainer& vfio_container() const { return container_; }

    // The address spaces (processes) user_va of areas refer to. Index 0 is
    // reserved for "unknown"; a process that maps twice is recorded once.
    // find_source: the live source with that pid, or 0.
    uint32_t find_source(uint32_t tgid) const;
    // `process` tells when it exits; null when it cannot be watched (tests):
    // taken as live.
    uint32_t add_source(uint32_t tgid, std::shared_ptr<const SourceProcess> process);
    // The source's pid while the process lives; 0 once it has exited.
    uint32_t source_pid(uint32_t source) const;

    // The kernel's iommufd_group: per group, the HWPT its attached devices
    // share and which devices are attached.
    struct AttachedGroup {
        uint32_t hwpt = 0;
        std::vector<uint32_t> devices;
    };
    std::map<uint32_t, AttachedGroup>& attached_groups() { return attached_; }

    // IOMMU_TEST_CMD is served (ioasidd --test-ops): the kernel's
    // CONFIG_IOMMUFD_TEST, for its selftest.
    bool test_ops() const { return test_ops_; }
    void enable_test_ops() { test_ops_ = true; }

    // Serialises the context's commands (the daemon serves many threads).
    std::mutex& mutex() { return mutex_; }

  private:
    ObjectTable objects_;
    AccountMode account_mode_ = AccountMode::User;
    uint32_t vfio_ioas_ = 0;
    VfioContainer container_;
    struct Source {
        uint32_t pid;
        std::shared_ptr<const SourceProcess> process;
        bool alive() const { return !process || process->alive(); }
    };
    std::vector<Source> sources_{{0, nullptr}};
    std::map<uint32_t, AttachedGroup> attached_;
    std::mutex mutex_;
    SharedTopology* topology_ = nullptr;
    bool test_ops_ = false;
    DomainPinsFactory domain_pins_;
};

}  // namespace ioasid::model
