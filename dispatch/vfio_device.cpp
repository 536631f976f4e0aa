#include "dispatch/vfio_device.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "dispatch/region_rw.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

#define MINSZ(type, field) (offsetof(type, field) + sizeof(type::field))

int do_bind(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_bind_iommufd bind;
    if (mem.read(arg, &bind, MINSZ(vfio_device_bind_iommufd, out_devid))) return -EFAULT;
    if (bind.argsz < MINSZ(vfio_device_bind_iommufd, out_devid))
        return refuse(-EINVAL, "BIND: argsz short of out_devid");
    if (bind.flags || bind.iommufd < 0) return refuse(-EINVAL, "BIND: flags, or a negative fd");
    uint32_t devid = 0;
    int rc = be.bind(bind.iommufd, devid);
    if (rc) return rc;
    if (mem.write(arg + offsetof(vfio_device_bind_iommufd, out_devid), &devid, sizeof(devid))) {
        be.unbind();
        return -EFAULT;
    }
    return 0;
}

int do_attach(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_attach_iommufd_pt at;
    if (mem.read(arg, &at, MINSZ(vfio_device_attach_iommufd_pt, pt_id))) return -EFAULT;
    if (at.argsz < MINSZ(vfio_device_attach_iommufd_pt, pt_id) || at.flags)
        return refuse(-EINVAL, "ATTACH: argsz short of pt_id, or flags");
    int rc = be.attach(at.pt_id);
    if (rc) return rc;
    if (mem.write(arg + offsetof(vfio_device_attach_iommufd_pt, pt_id), &at.pt_id, 4)) {
        be.detach();
        return -EFAULT;
    }
    return 0;
}

int do_detach(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_detach_iommufd_pt dt;
    if (mem.read(arg, &dt, MINSZ(vfio_device_detach_iommufd_pt, flags))) return -EFAULT;
    if (dt.argsz < MINSZ(vfio_device_detach_iommufd_pt, flags) || dt.flags)
        return refuse(-EINVAL, "DETACH: argsz short of flags, or flags");
    be.detach();
    return 0;
}

// vfio_check_feature(): 1 to go on, 0 for a PROBE that is answered, or
// -EINVAL. `argsz` counts the feature's data only.
int check_feature(uint32_t flags, uint64_t argsz, uint32_t supported_ops, uint64_t minsz) {
    if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported_ops)
        return refuse(-EINVAL, "FEATURE: GET or SET the feature does not take");
    if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0;
    if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
        return refuse(-EINVAL, "FEATURE: neither GET nor SET");
    return argsz < minsz ? refuse(-EINVAL, "FEATURE: argsz short of the feature's data") : 1;
}

constexpr uint64_t kFeatureData = MINSZ(vfio_device_feature, flags);

// vfio_ioctl_device_feature()'s own checks, before any feature's.
bool feature_header_ok(const vfio_device_feature& f) {
    constexpr uint32_t known = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
                               VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE;
    const bool get_and_set =
        (f.flags & VFIO_DEVICE_FEATURE_SET) && (f.flags & VFIO_DEVICE_FEATURE_GET);
    return f.argsz >= kFeatureData && !(f.flags & ~known) &&
           ((f.flags & VFIO_DEVICE_FEATURE_PROBE) || !get_and_set);
}

int low_power_with_wakeup(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_low_power_entry_with_wakeup entry;
    if (mem.read(arg + kFeatureData, &entry, sizeof(entry))) return -EFAULT;
    if (entry.wakeup_eventfd < 0) return refuse(-EINVAL, "LOW_POWER_ENTRY_WITH_WAKEUP: no eventfd");
    std::shared_ptr<devices::IrqSignal> wake;
    int rc = be.eventfds()(entry.wakeup_eventfd, wake);
    return rc ? rc : be.device().low_power_entry(std::move(wake));
}

// vfio_ioctl_device_feature() of a vfio-pci device without migration, DMA
// logging or a VF token: vfio-pci's runtime low power is all it has.
int do_feature(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_feature f;
    if (mem.read(arg, &f, kFeatureData)) return -EFAULT;
    if (!feature_header_ok(f))
        return refuse(-EINVAL, "FEATURE: argsz short of flags, or unknown flags");
    const uint64_t data_size = f.argsz - kFeatureData;
    int rc;
    switch (f.flags & VFIO_DEVICE_FEATURE_MASK) {
        case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
            rc = check_feature(f.flags, data_size, VFIO_DEVICE_FEATURE_SET, 0);
            return rc != 1 ? rc : be.device().low_power_entry(nullptr);
        case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
            rc = check_feature(f.flags, data_size, VFIO_DEVICE_FEATURE_SET,
                               sizeof(vfio_device_low_power_entry_with_wakeup));
            return rc != 1 ? rc : low_power_with_wakeup(be, arg, mem);
        case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
            rc = check_feature(f.flags, data_size, VFIO_DEVICE_FEATURE_SET, 0);
            if (rc == 1) be.device().low_power_exit();
            return rc == 1 ? 0 : rc;
        default:
            return -ENOTTY;
    }
}

int do_get_info(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_device_info info{};
    if (mem.read(arg, &info, MINSZ(vfio_device_info, num_irqs))) return -EFAULT;
    if (info.argsz < MINSZ(vfio_device_info, num_irqs))
        return refuse(-EINVAL, "GET_INFO: argsz short of num_irqs");
    const devices::EmulatedPci& dev = be.device();
    info.flags = dev.info_flags();
    info.num_regions = dev.num_regions();
    info.num_irqs = dev.num_irqs();
    return mem.write(arg, &info, std::min<size_t>(info.argsz, sizeof(info))) ? -EFAULT : 0;
}

int do_region_info(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_region_info info;
    if (mem.read(arg, &info, sizeof(info))) return -EFAULT;
    if (info.argsz < sizeof(info)) return refuse(-EINVAL, "GET_REGION_INFO: argsz short");
    devices::RegionInfo r;
    int rc = be.device().region_info(info.index, r);
    if (rc) return rc;
    // No region here has capabilities: cap_offset goes back as it came.
    info.flags = r.flags;
    info.size = r.size;
    info.offset = IOASID_VFIO_PCI_INDEX_TO_OFFSET(info.index);
    return mem.write(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

int do_irq_info(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_irq_info info;
    if (mem.read(arg, &info, sizeof(info))) return -EFAULT;
    if (info.argsz < sizeof(info)) return refuse(-EINVAL, "GET_IRQ_INFO: argsz short");
    if (info.index >= VFIO_PCI_NUM_IRQS) return refuse(-EINVAL, "GET_IRQ_INFO: no such index");
    devices::IrqInfo r;
    int rc = be.device().irq_info(info.index, r);
    if (rc) return rc;
    info.flags = r.flags;
    info.count = r.count;
    return mem.write(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

// vfio_set_irqs_validate_and_prepare(): 0 and the data size, or -EINVAL.
int validate_irq_set(const vfio_irq_set& hdr, uint32_t max, size_t& data_size) {
    constexpr uint32_t minsz = MINSZ(vfio_irq_set, count);
    if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
        hdr.count >= UINT32_MAX - hdr.start ||
        (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
        return refuse(-EINVAL, "SET_IRQS: argsz short, no such index, count past 2^32, or flags");
    data_size = 0;
    if (hdr.start >= max || hdr.start + hdr.count > max)
        return refuse(-EINVAL, "SET_IRQS: start and count past the index's vectors");
    size_t size;
    switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
        case VFIO_IRQ_SET_DATA_NONE:
            size = 0;
            break;
        case VFIO_IRQ_SET_DATA_BOOL:
            size = 1;
            break;
        case VFIO_IRQ_SET_DATA_EVENTFD:
            size = 4;
            break;
        default:
            return refuse(-EINVAL, "SET_IRQS: more than one data type");
    }
    if (size) {
        if (hdr.argsz - minsz < uint64_t{hdr.count} * size)
            return refuse(-EINVAL, "SET_IRQS: argsz short of the data");
        data_size = hdr.count * size;
    }
    return 0;
}

int do_set_irqs(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_irq_set hdr;
    if (mem.read(arg, &hdr, MINSZ(vfio_irq_set, count))) return -EFAULT;
    devices::PciIrqs& irqs = be.device().irqs();
    size_t data_size = 0;
    int rc = validate_irq_set(hdr, irqs.count(hdr.index), data_size);
    if (rc) return rc;
    std::vector<uint8_t> data(data_size);
    if (data_size && mem.read(arg + offsetof(vfio_irq_set, data), data.data(), data_size))
        return -EFAULT;
    return irqs.set(hdr.flags, hdr.index, hdr.start, hdr.count, data.data(), be.eventfds());
}

// Where a REGION_RW goes: the region, the offset in it, and how many bytes
// (short at the region's end). 0 or -EINVAL; the handler and the footprint
// both ask, so the retry path never asks for a buffer the handler refuses.
struct RegionAccess {
    uint32_t index;
    uint64_t off;
    uint64_t len;
    bool write;
};

int resolve_region_rw(devices::EmulatedPci& dev, const ioasidd_region_rw& rw, RegionAccess& out) {
    if (!region_rw_valid(rw)) return refuse(-EINVAL, "REGION_RW: argsz, flags or length");
    out.index = static_cast<uint32_t>(IOASID_VFIO_PCI_OFFSET_TO_INDEX(rw.offset));
    out.off = rw.offset & IOASID_VFIO_PCI_OFFSET_MASK;
    out.write = rw.flags & IOASIDD_REGION_WRITE;
    devices::RegionInfo r;
    if (dev.region_info(out.index, r) || out.off >= r.size)
        return refuse(-EINVAL, "REGION_RW: no such region, or past its end");
    if (!(r.flags & (out.write ? VFIO_REGION_INFO_FLAG_WRITE : VFIO_REGION_INFO_FLAG_READ)))
        return refuse(-EINVAL, "REGION_RW: the region does not allow the access");
    out.len = std::min<uint64_t>(rw.length, r.size - out.off);
    return 0;
}

int do_region_rw(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    ioasidd_region_rw rw;
    if (mem.read(arg, &rw, sizeof(rw))) return -EFAULT;
    devices::EmulatedPci& dev = be.device();
    RegionAccess a;
    int rc = resolve_region_rw(dev, rw, a);
    if (rc) return rc;
    return region_rw_user(
        mem, rw.data, a.len, a.write,
        [&](uint8_t* buf, uint64_t at, uint64_t n) {
            return dev.region_read(a.index, a.off + at, buf, n);
        },
        [&](const uint8_t* buf, uint64_t at, uint64_t n) {
            return dev.region_write(a.index, a.off + at, buf, n);
        });
}

// The size of region `index`, as GET_REGION_INFO gives it: the emulated
// device's, or the real device's (an info command, without side effect).
int region_size(DeviceBackend& be, uint32_t index, uint64_t& size) {
    if (ForwardTarget* t = be.forwarded()) {
        vfio_region_info info{};
        info.argsz = sizeof(info);
        info.index = index;
        int rc = t->query(VFIO_DEVICE_GET_REGION_INFO, &info);
        size = info.size;
        return rc < 0 ? rc : 0;
    }
    devices::RegionInfo r;
    if (int rc = be.device().region_info(index, r)) return rc;
    size = r.size;
    return 0;
}

// IOASIDD_REGION_{READ,WRITE}_FAST: REGION_RW of a buffer of ours, once the
// region's bounds say the access is whole (so that it is made only once).
int do_region_fast(DeviceBackend& be, const RegionFast& fast, uint64_t arg) {
    const bool write = fast.write;
    const uint32_t index = fast.index, len = fast.len;
    const uint64_t off = arg & 0xffffffffu;
    uint64_t size;
    if (int rc = region_size(be, index, size)) return rc;
    if (off >= size) return refuse(-EINVAL, "REGION_FAST: past the region's end");
    if (len > size - off) return -E2BIG;
    struct {
        ioasidd_region_rw rw;
        uint32_t data;
    } local{};
    local.rw = {sizeof(local.rw), write ? IOASIDD_REGION_WRITE : 0u,
                IOASID_VFIO_PCI_INDEX_TO_OFFSET(index) | off, len, offsetof(decltype(local), data)};
    local.data = static_cast<uint32_t>(arg >> 32);
    LocalMemory mem(&local, sizeof(local));
    ForwardTarget* t = be.forwarded();
    int rc = t ? vfio_forward_ioctl(*t, IOASIDD_REGION_RW, 0, mem) : do_region_rw(be, 0, mem);
    if (rc < 0 || write) return rc;
    if (rc != static_cast<int>(len)) return -E2BIG;  // cannot be: the bounds were checked
    const uint32_t flipped = local.data ^ IOASIDD_REGION_FAST_FLIP;
    if (flipped >= static_cast<uint32_t>(-4095)) {
        be.hold_read(local.data - IOASIDD_REGION_FAST_HELD_BASE);
        return -EOVERFLOW;
    }
    return static_cast<int>(flipped);
}

int do_reset(DeviceBackend& be, uint64_t, UserMemory&) {
    return be.device().reset();
}

// ioasidd's emulated devices sit on a root bus, with no slot: neither a
// slot nor a bus reset reaches them, and the kernel says ENODEV for such a
// device once the arguments pass.
int do_hot_reset_info(DeviceBackend&, uint64_t arg, UserMemory& mem) {
    vfio_pci_hot_reset_info hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    return hdr.argsz < sizeof(hdr) ? refuse(-EINVAL, "GET_PCI_HOT_RESET_INFO: argsz short")
                                   : -ENODEV;
}

// No emulated device has a slot or bus reset: ENODEV once the header and
// the count pass (a zero-length array for a cdev-opened device only).
int hot_reset_answer(DeviceBackend& be, uint32_t argsz, uint32_t flags, uint32_t count) {
    if (argsz < sizeof(vfio_pci_hot_reset) || flags)
        return refuse(-EINVAL, "PCI_HOT_RESET: argsz short, or flags");
    if ((count != 0) != be.through_group())
        return refuse(-EINVAL, be.through_group()
                                   ? "PCI_HOT_RESET: no group fds"
                                   : "PCI_HOT_RESET: group fds for a cdev-opened device");
    return -ENODEV;
}

int do_hot_reset(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    vfio_pci_hot_reset hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    return hot_reset_answer(be, hdr.argsz, hdr.flags, hdr.count);
}

// PCI_HOT_RESET with the group fds named by cookie (the preload library's).
int do_hot_reset_groups(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    ioasidd_hot_reset_groups g;
    if (mem.read(arg, &g, sizeof(g))) return -EFAULT;
    if (g.argsz < sizeof(g) || (g.flags & ~uint32_t{IOASIDD_HOT_RESET_FDS_UNREADABLE}))
        return refuse(-EINVAL, "PCI_HOT_RESET_GROUPS: argsz short, or flags");
    return hot_reset_answer(be, g.vfio_argsz, g.vfio_flags, g.count);
}

// vfio_pci_ioctl_ioeventfd()'s argument rules, then the device's table.
int do_ioeventfd(DeviceBackend& be, uint64_t arg, UserMemory& mem) {
    constexpr size_t minsz = MINSZ(vfio_device_ioeventfd, fd);
    vfio_device_ioeventfd e{};
    if (mem.read(arg, &e, minsz)) return -EFAULT;
    if (e.argsz < minsz || (e.flags & ~uint32_t{VFIO_DEVICE_IOEVENTFD_SIZE_MASK}))
        return refuse(-EINVAL, "IOEVENTFD: argsz short, or flags");
    const uint32_t count = e.flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK;
    if (__builtin_popcount(count) != 1 || e.fd < -1)
        return refuse(-EINVAL, "IOEVENTFD: not one size, or an fd below -1");
    devices::EmulatedPci& dev = be.device();
    return dev.ioeventfds().set(dev, e.offset, e.data, count, e.fd, be.ioevent_watcher());
}

// One row per command: the dispatch, the footprint and the statistics all
// read this table. `struct_size` is what the handler reads at `arg` first.
struct DeviceOp {
    uint32_t cmd;
    const char* name;
    size_t struct_size;
    int (*run)(DeviceBackend&, uint64_t, UserMemory&);
};

constexpr DeviceOp kOps[] = {
    {VFIO_DEVICE_BIND_IOMMUFD, "BIND_IOMMUFD", MINSZ(vfio_device_bind_iommufd, out_devid), do_bind},
    {VFIO_DEVICE_ATTACH_IOMMUFD_PT, "ATTACH_IOMMUFD_PT",
     MINSZ(vfio_device_attach_iommufd_pt, pt_id), do_attach},
    {VFIO_DEVICE_DETACH_IOMMUFD_PT, "DETACH_IOMMUFD_PT",
     MINSZ(vfio_device_detach_iommufd_pt, flags), do_detach},
    {VFIO_DEVICE_FEATURE, "FEATURE", MINSZ(vfio_device_feature, flags), do_feature},
    {VFIO_DEVICE_GET_INFO, "GET_INFO", MINSZ(vfio_device_info, num_irqs), do_get_info},
    {VFIO_DEVICE_GET_REGION_INFO, "GET_REGION_INFO", sizeof(vfio_region_info), do_region_info},
    {VFIO_DEVICE_GET_IRQ_INFO, "GET_IRQ_INFO", sizeof(vfio_irq_info), do_irq_info},
    {VFIO_DEVICE_SET_IRQS, "SET_IRQS", MINSZ(vfio_irq_set, count), do_set_irqs},
    {VFIO_DEVICE_RESET, "RESET", 0, do_reset},
    {VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, "GET_PCI_HOT_RESET_INFO", sizeof(vfio_pci_hot_reset_info),
     do_hot_reset_info},
    {VFIO_DEVICE_PCI_HOT_RESET, "PCI_HOT_RESET", sizeof(vfio_pci_hot_reset), do_hot_reset},
    {IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, "PCI_HOT_RESET_GROUPS", sizeof(ioasidd_hot_reset_groups),
     do_hot_reset_groups},
    {VFIO_DEVICE_IOEVENTFD, "IOEVENTFD", MINSZ(vfio_device_ioeventfd, fd), do_ioeventfd},
    {IOASIDD_REGION_RW, "REGION_RW", sizeof(ioasidd_region_rw), do_region_rw},
};

// The device cdev's own commands, served by ioasidd for every device.
bool cdev_command(uint32_t cmd) {
    return cmd == VFIO_DEVICE_BIND_IOMMUFD || cmd == VFIO_DEVICE_ATTACH_IOMMUFD_PT ||
           cmd == VFIO_DEVICE_DETACH_IOMMUFD_PT;
}

const DeviceOp* lookup(uint32_t cmd) {
    for (const DeviceOp& op : kOps)
        if (op.cmd == cmd) return &op;
    return nullptr;
}

}  // namespace

int vfio_device_ioctl(DeviceBackend& be, uint32_t cmd, uint64_t arg, UserMemory& mem) {
    // ioasidd's name for the file, in any state and for any backend.
    if (cmd == IOASIDD_NODE_KIND) return IOASIDD_NODE_DEVICE;
    if (be.through_group()) {
        // vfio_df_ioctl_bind_iommufd(): cdev fds only; ATTACH and DETACH are
        // the cdev's own, and go to vfio-pci's ioctl otherwise.
        if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
            return refuse(-EINVAL, "BIND: the device was opened through its group");
        if (cmd == VFIO_DEVICE_ATTACH_IOMMUFD_PT || cmd == VFIO_DEVICE_DETACH_IOMMUFD_PT)
            return -ENOTTY;
    }
    // Only BIND is allowed before BIND; anything else, known or not, is EINVAL.
    if (cmd != VFIO_DEVICE_BIND_IOMMUFD && !be.bound())
        return refuse(-EINVAL, "not bound yet: only BIND_IOMMUFD comes first");
    if (cmd == IOASIDD_REGION_FAST_HELD) return be.take_held_read();
    if (RegionFast fast; region_fast_decode(cmd, fast)) {
        if (!be.forwarded()) be.device().resume();
        return do_region_fast(be, fast, arg);
    }
    if (ForwardTarget* t = be.forwarded(); t && !cdev_command(cmd))
        return vfio_forward_ioctl(*t, cmd, arg, mem);
    // The runtime-PM wrapper of every device ioctl resumes the device.
    if (be.bound() && !be.forwarded()) be.device().resume();
    const DeviceOp* op = lookup(cmd);
    return op ? op->run(be, arg, mem) : -ENOTTY;
}

Footprint vfio_device_footprint(DeviceBackend& be, uint32_t cmd, uint64_t arg, UserMemory& known) {
    if (ForwardTarget* t = be.forwarded(); t && !cdev_command(cmd))
        return vfio_forward_footprint(*t, cmd, arg, known);
    Footprint fp;
    if (be.through_group() && cdev_command(cmd)) return fp;
    const DeviceOp* op = lookup(cmd);
    const size_t size = op ? op->struct_size : 0;
    if (!size || (cmd != VFIO_DEVICE_BIND_IOMMUFD && !be.bound())) return fp;
    fp.in.push_back({arg, size});
    uint8_t buf[32];
    if (known.read(arg, buf, size)) return fp;
    uint32_t argsz;
    std::memcpy(&argsz, buf, 4);
    switch (cmd) {
        case VFIO_DEVICE_BIND_IOMMUFD:
            fp.out.push_back({arg + offsetof(vfio_device_bind_iommufd, out_devid), 4});
            break;
        case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
            fp.out.push_back({arg + offsetof(vfio_device_attach_iommufd_pt, pt_id), 4});
            break;
        case VFIO_DEVICE_FEATURE: {
            vfio_device_feature f;
            std::memcpy(&f, buf, kFeatureData);
            constexpr uint64_t entry = sizeof(vfio_device_low_power_entry_with_wakeup);
            if (feature_header_ok(f) &&
                (f.flags & VFIO_DEVICE_FEATURE_MASK) ==
                    VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP &&
                check_feature(f.flags, f.argsz - kFeatureData, VFIO_DEVICE_FEATURE_SET, entry) == 1)
                fp.in.push_back({arg + kFeatureData, entry});
            break;
        }
        case VFIO_DEVICE_GET_INFO:
            fp.out.push_back({arg, std::min<uint64_t>(argsz, sizeof(vfio_device_info))});
            break;
        case VFIO_DEVICE_GET_REGION_INFO:
        case VFIO_DEVICE_GET_IRQ_INFO:
            fp.out.push_back({arg, size});
            break;
        case VFIO_DEVICE_SET_IRQS: {
            vfio_irq_set hdr;
            std::memcpy(&hdr, buf, sizeof(hdr));
            size_t data_size = 0;
            if (!validate_irq_set(hdr, be.device().irqs().count(hdr.index), data_size) && data_size)
                fp.in.push_back({arg + offsetof(vfio_irq_set, data), data_size});
            break;
        }
        case IOASIDD_REGION_RW: {
            ioasidd_region_rw rw;
            std::memcpy(&rw, buf, sizeof(rw));
            RegionAccess a;
            if (resolve_region_rw(be.device(), rw, a)) break;
            (a.write ? fp.in : fp.out).push_back({rw.data, a.len});
            break;
        }
        default:
            break;
    }
    return fp;
}

int vfio_device_mmap(const devices::EmulatedPci& dev, uint64_t offset, uint64_t length,
                     uint32_t flags, int& fd, uint64_t& fd_offset) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    // The syscall's own checks, before the driver sees the map.
    if (!length || offset % page) return -EINVAL;
    const uint64_t index = IOASID_VFIO_PCI_OFFSET_TO_INDEX(offset);
    devices::RegionInfo info;
    if (index >= dev.num_regions() || dev.region_info(static_cast<uint32_t>(index), info))
        return -EINVAL;
    if ((flags & MAP_TYPE) == MAP_PRIVATE) return -EINVAL;  // vfio-pci maps shared only
    // Only BARs, and only those the device has (vfio-pci's bar_mmap_supported).
    if (index >= VFIO_PCI_ROM_REGION_INDEX || !info.size) return -EINVAL;
    const uint64_t start = offset & IOASID_VFIO_PCI_OFFSET_MASK;
    const uint64_t phys_len = (info.size + page - 1) / page * page;
    if (start > phys_len || length > phys_len - start) return -EINVAL;
    fd = dev.bar_memory(static_cast<uint32_t>(index));
    if (fd < 0) return -ENODEV;
    fd_offset = start;
    return 0;
}

const char* vfio_device_command_name(uint32_t cmd) {
    if (cmd == IOASIDD_NODE_KIND) return "NODE_KIND";
    if (cmd == IOASIDD_REGION_FAST_HELD) return "REGION_FAST_HELD";
    if (RegionFast fast; region_fast_decode(cmd, fast))
        return fast.write ? "REGION_WRITE_FAST" : "REGION_READ_FAST";
    const DeviceOp* op = lookup(cmd);
    return op ? op->name : nullptr;
}

}  // namespace ioasid::dispatch
