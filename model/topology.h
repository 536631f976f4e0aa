// The host's PCI devices and IOMMU groups as ioasidd sees them: read from
// sysfs, kept current from uevents, plus the devices ioasidd emulates.
//
// Pure data and rules, no I/O. A group also carries the kernel's DMA-owner
// state (iommu_group->owner/owner_cnt): which iommufd context has claimed it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ioasid::model {

class Context;

// Where the numbers of ioasidd's own (emulated) groups start. The kernel
// numbers its IOMMU groups with the lowest free id (ida_alloc()), so its
// ids stay below the count of groups that exist at once: reaching this one
// would take a hundred million IOMMU groups on one host. The group API's
// /dev/vfio/N can then never name a kernel group and one of ioasidd's alike,
// and a host device can never be taken into an emulated group.
inline constexpr uint32_t kEmulatedGroupBase = 100000000;

// /sys/kernel/iommu_groups/N/reserved_regions, one line.
struct ReservedRegion {
    uint64_t start;
    uint64_t last;     // inclusive
    std::string type;  // direct, direct-relaxable, reserved, msi, sw-msi
};

struct PciDevice {
    std::string address;  // "0000:00:03.0"
    uint16_t vendor = 0;
    uint16_t device = 0;
    uint32_t class_code = 0;  // 24 bits: base, sub, prog-if
    std::string driver;       // empty: no driver
    uint32_t group = 0;
    // The emulation model ("edu", "membar"); empty for a device of the host.
    std::string model;
    uint64_t bar_size = 0;  // model parameter; 0 is the model's default
    // A mock device's flags (MOCK_FLAGS_DEVICE_*).
    uint32_t mock_flags = 0;

    bool emulated() const { return !model.empty(); }
    // A mock device of the kernel's selftest (IOMMU_TEST_OP_MOCK_DOMAIN).
    static constexpr const char* kMockModel = "mock";
    bool mock() const { return model == kMockModel; }
    // Its IOMMU can track dirty pages: only a selftest mock device made
    // without MOCK_FLAGS_DEVICE_NO_DIRTY (bit 0) has one that can.
    bool dirty_capable() const { return mock() && !(mock_flags & 1); }
    // Bound to vfio-pci or a variant of it: ioasidd can forward it.
    bool vfio_bound() const;
    bool is_bridge() const { return (class_code >> 8) == 0x0604; }
};

// Whether the kernel lets the group of this device be owned by userspace
// while the device is in this state: bound to a VFIO driver, emulated by
// ioasidd, driverless, or bound to a driver that declares driver_managed_dma
// (pci-stub; pcieport, which binds only to bridges).
bool tolerates_user_dma(const PciDevice& dev);

struct Group {
    uint32_t id = 0;
    std::vector<std::string> devices;  // addresses, in the order they came
    std::vector<ReservedRegion> reserved;
    // The IOMMU's domain for this group: page size and aperture. The default
    // is a 48-bit VT-d; QEMU's VT-d has 39 bits unless told otherwise.
    uint64_t page_size = 4096;
    uint64_t pgsize_bitmap = 4096 | (2ull << 20) | (1ull << 30);  // VT-d's 4K, 2M, 1G
    uint64_t aperture_start = 0;
    uint64_t aperture_last = (1ull << 48) - 1;
    // Behind the selftest's mock IOMMU, whose domains no other IOMMU's
    // devices can attach to (and the reverse).
    bool mock_iommu = false;
    const Context* owner = nullptr;  // the context whose devices claim its DMA
    uint32_t owner_count = 0;        // bound devices of that context
    // Where a forwarded group's DMA really goes (its VFIO container), set by
    // the daemon while the group is owned; it mirrors the attached IOAS.
    class AreaMirror* mirror = nullptr;
    // The legacy group API's state (drivers/vfio/group.c), see
    // model/vfio_group.h: the open of /dev/vfio/N (a file number, 0: none),
    // whether that file was closed while devices opened through it were
    // still open (the kernel's device files hold the group file), the
    // container it is set to and its users (the group and each device
    // opened through it), and the devices of it open through their cdev.
    // An iommufd context (not a container) may be set instead, as the
    // kernel lets SET_CONTAINER take a /dev/iommu fd.
    uint64_t group_file = 0;
    bool group_file_closed = false;
    Context* container = nullptr;
    Context* iommufd = nullptr;
    uint32_t container_users = 0;
    uint32_t cdev_opens = 0;
    // The open of a device node GET_DEVICE_FD is about to make (the library
    // opens the node, then makes it the group's device file): let in while
    // the group file is open, once, for that process.
    std::string expected_open;
    uint32_t expected_tgid = 0;
    // Whether the legacy group API still holds the group (it outlives its
    // last device then, as the kernel's vfio_group does).
    bool held_by_group_api() const { return group_file || cdev_opens || container || iommufd; }
};

class Topology {
  public:
    // -EEXIST for an address already known.
    int add_device(PciDevice dev);
    // Returns the device's group, or -ENOENT.
    int remove_device(const std::string& address);
    // -ENOENT if unknown. Returns 1 when the driver changed, else 0.
    int set_driver(const std::string& address, const std::string& driver);
    void set_reserved(uint32_t group, std::vector<ReservedRegion> regions);

    const PciDevice* device(const std::string& address) const;
    const Group* group(uint32_t id) const;
    Group* group(uint32_t id);
    const std::map<std::string, PciDevice>& devices() const { return devices_; }
    const std::map<uint32_t, Group>& groups() const { return groups_; }

    // Devices of the group that keep it from being given to userspace.
    uint32_t blocking_devices(uint32_t group) const;
    bool viable(uint32_t group) const;

    // iommu_device_claim_dma_owner(): 0, -ENODEV (no group), -EPERM (not
    // viable, or owned by another context).
    int claim(uint32_t group, const Context* owner);
    void release(uint32_t group, const Context* owner);

    // Forgets a group whose devices are gone once nothing holds it (an
    // owner, the group API).
    void drop_if_unused(uint32_t group);

    // The lowest group id >= `from` that names no group yet.
    uint32_t free_group_id(uint32_t from) const;

  private:
    std::map<std::string, PciDevice> devices_;
    std::map<uint32_t, Group> groups_;
};

// The topology as the daemon shares it between its nodes. Its lock comes
// after a device's and a context's (device -> context -> topology).
struct SharedTopology {
    std::mutex mutex;
    Topology topo;
};

}  // namespace ioasid::model
