// Host devices bound to vfio-pci, driven through the legacy VFIO API: one
// container per IOMMU group, holding the mappings of the IOAS the group is
// attached to (the model's AreaMirror), for as long as a context owns the
// group.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "host/shared_view.h"
#include "host/vfio.h"
#include "model/context.h"
#include "model/topology.h"

namespace ioasid::daemon {

class ForwardedGroup final : public model::AreaMirror {
  public:
    ForwardedGroup(uint32_t group, const model::Context& owner,
                   std::unique_ptr<host::VfioGroup> vfio)
        : id_(group), owner_(owner), vfio_(std::move(vfio)) {}
    ~ForwardedGroup() override;
    // Opens the group's own address space (see host::VfioGroup::open).
    int open();
    host::VfioGroup& vfio() { return *vfio_; }
    const model::Context& owner() const { return owner_; }
    // The container's IOVA ranges as the model's reserved regions and
    // aperture: what the kernel's own iommufd would take from the driver.
    void describe(model::Group& group);

    // Called under the owner context's lock, from the model.
    int map(const model::Area& area) override;
    void unmap(const model::Area& area) override;

  private:
    const uint32_t id_;
    const model::Context& owner_;
    std::unique_ptr<host::VfioGroup> vfio_;
    host::FileMappings files_;
    // The daemon's view of each area's memory, which the container pins
    // (the pins are charged by the IOAS's DomainPins), by area start.
    std::map<uint64_t, host::SharedView> mapped_;
};

// The groups forwarded now, one per group, shared by its bound devices.
class Forwarding {
  public:
    explicit Forwarding(host::VfioApi api = host::VfioApi::Auto) : api_(api) {}
    // The group's ForwardedGroup for `owner`, opened (for the device at
    // `address`, which decides the API) if it is not yet.
    int acquire(uint32_t group, const std::string& address, const model::Context& owner,
                std::shared_ptr<ForwardedGroup>& out);
    // The group's ForwardedGroup while `owner` holds it, else null.
    std::shared_ptr<ForwardedGroup> find(uint32_t group, const model::Context& owner);

  private:
    const host::VfioApi api_;
    std::mutex mutex_;
    std::map<uint32_t, std::weak_ptr<ForwardedGroup>> groups_;
};

}  // namespace ioasid::daemon
