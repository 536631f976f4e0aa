// The objects of one iommufd context and their ids.
//
// Ids come from one namespace per context, starting at 1, and the lowest free
// id is reused first (the kernel allocates from an XA_FLAGS_ALLOC1 xarray).
// An object that other objects depend on counts them in `users`; it cannot be
// destroyed while that count is above zero.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "model/ioas.h"

namespace ioasid::model {

enum class ObjectType : uint8_t {
    Ioas,
    HwptPaging,
    Device,
    Access,
    Selftest,
};

struct Object {
    explicit Object(ObjectType t) : type(t) {}
    virtual ~Object() = default;

    const ObjectType type;
    uint32_t id = 0;
    uint32_t users = 0;  // references held by other objects

    // Drops the references this object holds on others, just before it goes.
    virtual void release_refs(class ObjectTable&) {}
};

struct IoasObject final : Object {
    IoasObject() : Object(ObjectType::Ioas) {}
    Ioas ioas;
};

// A paging domain over an IOAS: the kernel's iommufd_hwpt_paging. It holds a
// reference on its IOAS and puts its domain's constraints (page size,
// aperture) on it for as long as it exists.
struct HwptPagingObject final : Object {
    explicit HwptPagingObject(uint32_t ioas) : Object(ObjectType::HwptPaging), ioas_id(ioas) {}
    uint32_t ioas_id;
    bool auto_domain = false;    // created by an attach to the IOAS itself
    bool mock = false;           // a domain of the selftest's mock IOMMU
    bool nest_parent = false;    // HWPT_ALLOC_NEST_PARENT
    uint64_t pgsize_bitmap = 0;  // the IO page sizes its domain maps with
    // HWPT_ALLOC_DIRTY_TRACKING gave the domain dirty tracking, which
    // SET_DIRTY_TRACKING turns on and off. Dirty IO pages (by IOVA / page
    // size) map to the serial of the area they were dirtied in.
    bool dirty_ops = false;
    bool dirty_tracking = false;
    std::map<uint64_t, uint64_t> dirty;
    void release_refs(ObjectTable& table) override;
};

// A device bound to the context (VFIO_DEVICE_BIND_IOMMUFD): the kernel's
// iommufd_device. Its binding holds one user until unbind; an attachment
// holds another.
struct DeviceObject final : Object {
    DeviceObject(std::string addr, uint32_t grp)
        : Object(ObjectType::Device), address(std::move(addr)), group(grp) {}
    std::string address;
    uint32_t group;
    uint32_t hwpt = 0;  // the attached HWPT, 0 when detached
};

// The kernel selftest's mock device (IOMMU_TEST_OP_MOCK_DOMAIN): destroying
// it detaches and unbinds its device, which the test cannot do otherwise.
struct SelftestObject final : Object {
    SelftestObject() : Object(ObjectType::Selftest) {}
    uint32_t device_id = 0;
    std::string address;  // the mock device in the topology
};

class ObjectTable {
  public:
    // The kernel's xarray limit (xa_limit_31b).
    static constexpr uint32_t kMaxId = 0x7fffffff;

    // Takes ownership and returns the new id, or 0 when the id space is full.
    uint32_t add(std::unique_ptr<Object> obj);
    // nullptr when the id is unknown or names another type (ENOENT to the user).
    Object* find(uint32_t id, ObjectType type) const;
    Object* find_any(uint32_t id) const;
    template <typename T>
    T* get(uint32_t id, ObjectType type) const {
        return static_cast<T*>(find(id, type));
    }

    // 0, -ENOENT, or -EBUSY while other objects use it.
    int destroy(uint32_t id);
    // Destroys leaves first until nothing is left, as a context's release does.
    void destroy_all();

    bool empty() const { return objects_.empty(); }
    size_t size() const { return objects_.size(); }
    const std::map<uint32_t, std::unique_ptr<Object>>& all() const { return objects_; }

  private:
    std::map<uint32_t, std::unique_ptr<Object>> objects_;
    std::set<uint32_t> free_ids_;  // ids below next_id_ that are free again
    uint32_t next_id_ = 1;

    void release_id(uint32_t id);
};

}  // namespace ioasid::model
