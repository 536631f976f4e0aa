#include "dispatch/vfio_forward_reset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

// GET_PCI_HOT_RESET_INFO's buffer is cut here: a few dozen devices at most
// share a slot or bus.
constexpr uint32_t kMaxArgsz = 64 * 1024;
// vfio_pci_ioctl_get_pci_hot_reset_info() copies this much in.
constexpr uint32_t kHotResetInfoIn = sizeof(vfio_pci_hot_reset_info);
constexpr size_t kDevice = sizeof(vfio_pci_dependent_device);

bool has(const std::vector<uint32_t>& v, uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// The answer as a cdev-opened device gives it: each device by its devid in
// the caller's context, where the real device may have answered with
// group ids.
void info_by_devid(ForwardTarget& t, vfio_pci_hot_reset_info& hdr, uint8_t* devices, size_t n) {
    hdr.flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
    for (size_t i = 0; i < n; i++) {
        vfio_pci_dependent_device d;
        std::memcpy(&d, devices + i * kDevice, kDevice);
        d.devid = t.dependent(d.segment, d.bus, d.devfn).devid;
        if (d.devid == uint32_t(VFIO_PCI_DEVID_NOT_OWNED))
            hdr.flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
        std::memcpy(devices + i * kDevice, &d, kDevice);
    }
}

// As a group-opened device gives it: each device by its IOMMU group, where
// the real device may have answered with devids. EPERM for a device without
// a group (vfio_pci_fill_devs(): it cannot be reset from userspace).
int info_by_group(ForwardTarget& t, vfio_pci_hot_reset_info& hdr, uint8_t* devices, size_t n) {
    hdr.flags = 0;
    for (size_t i = 0; i < n; i++) {
        vfio_pci_dependent_device d;
        std::memcpy(&d, devices + i * kDevice, kDevice);
        const ForwardTarget::Dependent dep = t.dependent(d.segment, d.bus, d.devfn);
        if (!dep.has_group) return -EPERM;
        d.group_id = dep.group;
        std::memcpy(devices + i * kDevice, &d, kDevice);
    }
    return 0;
}

// The devices a hot reset of the real device resets (the real answer to
// GET_PCI_HOT_RESET_INFO, asked until its count fits). The daemon's own
// question (query), so that a footprint may ask it too.
int affected_devices(ForwardTarget& t, std::vector<vfio_pci_dependent_device>& out) {
    uint32_t room = 8;
    for (int attempt = 0; attempt < 3; attempt++) {
        std::vector<uint8_t> buf(sizeof(vfio_pci_hot_reset_info) + size_t{room} * kDevice);
        vfio_pci_hot_reset_info hdr;
        hdr.argsz = static_cast<uint32_t>(buf.size());
        hdr.flags = hdr.count = 0;
        std::memcpy(buf.data(), &hdr, sizeof(hdr));
        int rc = t.query(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf.data());
        std::memcpy(&hdr, buf.data(), sizeof(hdr));
        if (rc == -ENOSPC && hdr.count > room && hdr.count <= kMaxArgsz / 8) {
            room = hdr.count;
            continue;
        }
        if (rc < 0) return rc;
        out.resize(std::min(hdr.count, room));
        if (!out.empty()) std::memcpy(out.data(), buf.data() + sizeof(hdr), out.size() * kDevice);
        return 0;
    }
    return -EAGAIN;  // the topology kept changing, as the kernel's fill says
}

// vfio_pci_dev_set_hot_reset() with an iommufd_ctx: every device the reset
// takes along must be owned by the caller's context.
int reset_by_context(ForwardTarget& t) {
    std::vector<vfio_pci_dependent_device> affected;
    int rc = affected_devices(t, affected);
    // EPERM: a device without an IOMMU group, which no reset set includes.
    if (rc) return rc == -EPERM ? -EINVAL : rc;
    std::vector<uint32_t> groups;
    for (const vfio_pci_dependent_device& d : affected) {
        ForwardTarget::Dependent dep = t.dependent(d.segment, d.bus, d.devfn);
        if (dep.devid == uint32_t(VFIO_PCI_DEVID_NOT_OWNED))
            return refuse(-EINVAL, "PCI_HOT_RESET: a device it resets is not the context's");
        if (!has(groups, dep.group)) groups.push_back(dep.group);
    }
    return t.hot_reset(groups);
}

// One group fd of PCI_HOT_RESET: its group, or what fget() and
// vfio_file_is_group() answer for it (EBADF, EINVAL).
struct NamedGroup {
    int rc = 0;
    uint32_t group = 0;
};

// vfio_pci_ioctl_pci_hot_reset_groups() after the header's checks:
// ENODEV without a slot or bus reset, EINVAL for more fds than devices,
// then the fds (`name` fills one entry each, or fails with EFAULT: the
// kernel copies them only now), then every device the reset takes along
// must be in one of their groups (vfio_dev_in_groups()).
template <typename Name>
int reset_by_groups(ForwardTarget& t, uint32_t count, Name name) {
    std::vector<vfio_pci_dependent_device> affected;
    int rc = affected_devices(t, affected);
    if (rc) return rc == -EPERM ? -EINVAL : rc;
    if (count > affected.size())
        return refuse(-EINVAL, "PCI_HOT_RESET: more group fds than devices the reset reaches");
    std::vector<NamedGroup> named(count);
    if ((rc = name(named))) return rc;
    std::vector<uint32_t> given;
    for (const NamedGroup& g : named) {
        if (g.rc) return g.rc;
        given.push_back(g.group);
    }
    std::vector<uint32_t> groups;
    for (const vfio_pci_dependent_device& d : affected) {
        ForwardTarget::Dependent dep = t.dependent(d.segment, d.bus, d.devfn);
        if (!dep.has_group || !has(given, dep.group))
            return refuse(-EINVAL, "PCI_HOT_RESET: a device it resets is in none of the groups");
        if (!has(groups, dep.group)) groups.push_back(dep.group);
    }
    return t.hot_reset(groups);
}

}  // namespace

uint32_t hot_reset_info_span(uint32_t argsz) {
    return std::min(std::max(argsz, kHotResetInfoIn), kMaxArgsz);
}

// The header only: the kernel writes the devices and the header back, and
// reads nothing past the header. ENOSPC still tells the count.
int forward_hot_reset_info(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_pci_hot_reset_info hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    std::vector<uint8_t> buf(hot_reset_info_span(hdr.argsz));
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    int rc = t.call(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf.data());
    std::memcpy(&hdr, buf.data(), sizeof(hdr));
    if (rc == -ENOSPC) return mem.write(arg, &hdr, sizeof(hdr)) ? -EFAULT : rc;
    if (rc < 0) return rc;
    const size_t n = std::min<size_t>(hdr.count, (buf.size() - sizeof(hdr)) / kDevice);
    uint8_t* devices = buf.data() + sizeof(hdr);
    if (!t.through_group())
        info_by_devid(t, hdr, devices, n);
    else if (int err = info_by_group(t, hdr, devices, n))
        return err;
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    return mem.write(arg, buf.data(), sizeof(hdr) + n * kDevice) ? -EFAULT : rc;
}

// The group fds as the caller's fd numbers: ioasidd's groups reach the
// daemon only by cookie (PCI_HOT_RESET_GROUPS, which the preload library
// sends), so a file the caller has is refused as not a group.
int forward_hot_reset(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_pci_hot_reset hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    if (hdr.argsz < sizeof(hdr) || hdr.flags)
        return refuse(-EINVAL, "PCI_HOT_RESET: argsz short, or flags");
    // A zero-length array is for cdev-opened devices only.
    if (!t.through_group())
        return hdr.count ? refuse(-EINVAL, "PCI_HOT_RESET: group fds for a cdev-opened device")
                         : reset_by_context(t);
    if (!hdr.count) return refuse(-EINVAL, "PCI_HOT_RESET: no group fds");
    return reset_by_groups(t, hdr.count, [&](std::vector<NamedGroup>& named) {
        std::vector<int32_t> fds(named.size());
        if (mem.read(arg + sizeof(hdr), fds.data(), fds.size() * 4)) return -EFAULT;
        // The first fd decides, as fget()'s loop stops at the first failure:
        // a resolvable one is never a group by number.
        named[0].rc = t.take_fd(fds[0]) < 0
                          ? -EBADF
                          : refuse(-EINVAL,
                                   "PCI_HOT_RESET: a group fd by number, not by cookie "
                                   "(libioasid-preload.so sends them so)");
        return 0;
    });
}

int forward_hot_reset_groups(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    ioasidd_hot_reset_groups g;
    if (mem.read(arg, &g, sizeof(g))) return -EFAULT;
    if (g.argsz < sizeof(g) || (g.flags & ~uint32_t{IOASIDD_HOT_RESET_FDS_UNREADABLE}))
        return refuse(-EINVAL, "PCI_HOT_RESET_GROUPS: argsz short, or flags");
    if (g.vfio_argsz < sizeof(vfio_pci_hot_reset) || g.vfio_flags)
        return refuse(-EINVAL, "PCI_HOT_RESET: argsz short, or flags");
    if (!t.through_group())
        return g.count ? refuse(-EINVAL, "PCI_HOT_RESET: group fds for a cdev-opened device")
                       : reset_by_context(t);
    if (!g.count) return refuse(-EINVAL, "PCI_HOT_RESET: no group fds");
    return reset_by_groups(t, g.count, [&](std::vector<NamedGroup>& named) {
        if (g.flags & IOASIDD_HOT_RESET_FDS_UNREADABLE) return -EFAULT;
        if (g.argsz < sizeof(g) + named.size() * 8)
            return refuse(-EINVAL, "PCI_HOT_RESET_GROUPS: argsz short of the cookies");
        std::vector<uint64_t> cookies(named.size());
        if (mem.read(arg + sizeof(g), cookies.data(), cookies.size() * 8)) return -EFAULT;
        // In order, up to the first that fails (the kernel's fget() loop),
        // so that only its reason is noted.
        for (size_t i = 0; i < cookies.size() && (i == 0 || !named[i - 1].rc); i++) {
            if (cookies[i] == IOASIDD_HOT_RESET_NO_FILE)
                named[i].rc = -EBADF;
            else if (cookies[i] == IOASIDD_HOT_RESET_NOT_OURS)
                named[i].rc = refuse(-EINVAL, "PCI_HOT_RESET: an fd that is not ioasidd's group");
            else
                named[i].rc = t.group_file(cookies[i], named[i].group);
        }
        return 0;
    });
}

namespace {

// Whether a group-opened device's reset goes on to copy `count` fds (or
// cookies): the checks before that copy pass (reset_by_groups()).
bool copies_fds(ForwardTarget& t, uint32_t count) {
    if (!t.through_group() || !count) return false;
    std::vector<vfio_pci_dependent_device> affected;
    return !affected_devices(t, affected) && count <= affected.size();
}

}  // namespace

// The fds only where the call copies them: a range the retry path names is
// copied before the call, and one it cannot read fails the whole call.
Footprint hot_reset_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known) {
    Footprint fp;
    if (cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) {
        fp.in.push_back({arg, kHotResetInfoIn});
        uint32_t argsz;
        if (known.read(arg, &argsz, 4)) return fp;
        fp.out.push_back({arg, hot_reset_info_span(argsz)});  // written from its start
    } else if (cmd == VFIO_DEVICE_PCI_HOT_RESET) {
        fp.in.push_back({arg, sizeof(vfio_pci_hot_reset)});
        vfio_pci_hot_reset hdr;
        if (!known.read(arg, &hdr, sizeof(hdr)) && hdr.argsz >= sizeof(hdr) && !hdr.flags &&
            copies_fds(t, hdr.count))
            fp.in.push_back({arg + sizeof(hdr), uint64_t{hdr.count} * 4});
    } else if (cmd == IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS) {
        fp.in.push_back({arg, sizeof(ioasidd_hot_reset_groups)});
        ioasidd_hot_reset_groups g;
        if (!known.read(arg, &g, sizeof(g)) && g.flags == 0 &&
            g.vfio_argsz >= sizeof(vfio_pci_hot_reset) && !g.vfio_flags &&
            g.argsz >= sizeof(g) + uint64_t{g.count} * 8 && copies_fds(t, g.count))
            fp.in.push_back({arg + sizeof(g), uint64_t{g.count} * 8});
    }
    return fp;
}

}  // namespace ioasid::dispatch
