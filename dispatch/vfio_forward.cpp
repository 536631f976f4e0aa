#include "dispatch/vfio_forward.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "dispatch/region_rw.h"
#include "dispatch/vfio_forward_logging.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"

namespace ioasid::dispatch {

namespace {

// Larger argsz values are cut here: capability chains are far smaller.
constexpr uint32_t kMaxArgsz = 64 * 1024;
// An fd number no daemon holds: the real kernel answers EBADF for it, at the
// point of its own checks where it would have for the caller's bad fd.
constexpr int32_t kNoSuchFd = 0x7ffffff0;

// Commands with an argsz header whose whole struct (and capability chain)
// goes to the device and comes back.
struct Sized {
    uint32_t cmd;
    uint32_t minsz;
};
constexpr Sized kSized[] = {
    {VFIO_DEVICE_GET_INFO, 16},     {VFIO_DEVICE_GET_REGION_INFO, 32},
    {VFIO_DEVICE_GET_IRQ_INFO, 16}, {VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 12},
    {VFIO_DEVICE_FEATURE, 8},
};

const Sized* sized(uint32_t cmd) {
    for (const Sized& s : kSized)
        if (s.cmd == cmd) return &s;
    return nullptr;
}

// How many bytes the struct spans as its argsz says, as the footprint and
// the handler both see it.
uint32_t span(const Sized& s, uint32_t argsz) {
    return std::min(std::max(argsz, s.minsz), kMaxArgsz);
}

// The daemon's number for a caller's fd; negative numbers ("none") pass.
int32_t exchange_fd(ForwardTarget& t, int32_t user_fd) {
    if (user_fd < 0) return user_fd;
    const int32_t local = t.take_fd(user_fd);
    return local >= 0 ? local : kNoSuchFd;
}

// GET_PCI_HOT_RESET_INFO's answer as a cdev-opened device gives it: each
// device by its devid in the caller's context, where the real device may
// have answered with group ids. ENOSPC still tells the count.
int hot_reset_info_out(ForwardTarget& t, int rc, std::vector<uint8_t>& buf, uint64_t arg,
                       UserMemory& mem) {
    vfio_pci_hot_reset_info hdr;
    std::memcpy(&hdr, buf.data(), sizeof(hdr));
    if (rc == -ENOSPC) return mem.write(arg, &hdr, sizeof(hdr)) ? -EFAULT : rc;
    if (rc < 0) return rc;
    hdr.flags = VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
    const size_t room = (buf.size() - sizeof(hdr)) / sizeof(vfio_pci_dependent_device);
    const size_t n = std::min<size_t>(hdr.count, room);
    for (size_t i = 0; i < n; i++) {
        uint8_t* at = buf.data() + sizeof(hdr) + i * sizeof(vfio_pci_dependent_device);
        vfio_pci_dependent_device d;
        std::memcpy(&d, at, sizeof(d));
        d.devid = t.dependent(d.segment, d.bus, d.devfn).devid;
        if (d.devid == uint32_t(VFIO_PCI_DEVID_NOT_OWNED))
            hdr.flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
        std::memcpy(at, &d, sizeof(d));
    }
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    const size_t out = sizeof(hdr) + n * sizeof(vfio_pci_dependent_device);
    return mem.write(arg, buf.data(), out) ? -EFAULT : rc;
}

// vfio_ioctl_device_feature()'s checks of the header, which come before any
// feature reads its data: answered here, as the kernel answers them.
int feature_header_check(const std::vector<uint8_t>& buf) {
    constexpr uint32_t kKnown = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
                                VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE;
    constexpr uint32_t kBoth = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET;
    uint32_t argsz, flags;
    std::memcpy(&argsz, buf.data(), 4);
    std::memcpy(&flags, buf.data() + 4, 4);
    if (argsz < 8) return -EINVAL;
    if (flags & ~kKnown) return -EINVAL;  // unknown flags
    if (!(flags & VFIO_DEVICE_FEATURE_PROBE) && (flags & kBoth) == kBoth) return -EINVAL;
    return 0;
}

// VFIO_DEVICE_FEATURE with the caller's addresses and fds exchanged for the
// daemon's. A feature this ABI does not know goes without its data, so that
// no newer kernel reads an address in it (6.12's answers ENOTTY after the
// header's checks).
int feature_call(ForwardTarget& t, std::vector<uint8_t>& buf, UserMemory& mem) {
    if (int rc = feature_header_check(buf)) return rc;
    uint32_t argsz, flags;
    std::memcpy(&argsz, buf.data(), 4);
    std::memcpy(&flags, buf.data() + 4, 4);
    const uint32_t feature = flags & VFIO_DEVICE_FEATURE_MASK;
    switch (feature) {
        case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
            // It answers with a new fd, which would be the daemon's.
            if (flags & VFIO_DEVICE_FEATURE_SET) return -EOPNOTSUPP;
            break;
        case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
            return forward_logging_start(t, buf, mem);
        case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
            return forward_logging_report(t, buf, mem);
        case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: {
            if (buf.size() < 12) break;
            int32_t user_fd;  // the wakeup eventfd, as the caller wrote it
            std::memcpy(&user_fd, buf.data() + 8, 4);
            const int32_t fd = exchange_fd(t, user_fd);
            std::memcpy(buf.data() + 8, &fd, 4);
            const int rc = t.call(VFIO_DEVICE_FEATURE, buf.data());
            std::memcpy(buf.data() + 8, &user_fd, 4);
            return rc;
        }
        default:
            if (feature <= VFIO_DEVICE_FEATURE_BUS_MASTER) break;
            std::vector<uint8_t> bare(buf.begin(), buf.begin() + 8);
            argsz = std::min<uint32_t>(argsz, 8);
            std::memcpy(bare.data(), &argsz, 4);
            return t.call(VFIO_DEVICE_FEATURE, bare.data());
    }
    return t.call(VFIO_DEVICE_FEATURE, buf.data());
}

// The caller's bytes beyond what the kernel writes are read too, so that
// writing the whole span back changes only what the kernel changed.
int forward_sized(ForwardTarget& t, const Sized& s, uint64_t arg, UserMemory& mem) {
    uint32_t argsz;
    if (mem.read(arg, &argsz, 4)) return -EFAULT;
    std::vector<uint8_t> buf(span(s, argsz));
    if (mem.read(arg, buf.data(), buf.size())) return -EFAULT;
    int rc = s.cmd == VFIO_DEVICE_FEATURE ? feature_call(t, buf, mem) : t.call(s.cmd, buf.data());
    if (s.cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)
        return hot_reset_info_out(t, rc, buf, arg, mem);
    if (rc < 0) return rc;
    return mem.write(arg, buf.data(), buf.size()) ? -EFAULT : rc;
}

size_t irq_data_size(const vfio_irq_set& hdr) {
    switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
        case VFIO_IRQ_SET_DATA_BOOL:
            return hdr.count;
        case VFIO_IRQ_SET_DATA_EVENTFD:
            return size_t{hdr.count} * 4;
        default:
            return 0;
    }
}

// The data the caller's argsz covers (the kernel says EINVAL when it is
// short, from the struct we pass on).
size_t irq_data_present(const vfio_irq_set& hdr) {
    const size_t room = hdr.argsz > sizeof(hdr) ? hdr.argsz - sizeof(hdr) : 0;
    return std::min({irq_data_size(hdr), room, size_t{kMaxArgsz}});
}

int forward_set_irqs(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_irq_set hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    const size_t data = irq_data_present(hdr);
    std::vector<uint8_t> buf(sizeof(hdr) + data);
    std::memcpy(buf.data(), &hdr, sizeof(hdr));
    if (data && mem.read(arg + sizeof(hdr), buf.data() + sizeof(hdr), data)) return -EFAULT;
    if ((hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) == VFIO_IRQ_SET_DATA_EVENTFD) {
        for (size_t at = sizeof(hdr); at + 4 <= buf.size(); at += 4) {
            int32_t fd;
            std::memcpy(&fd, buf.data() + at, 4);
            fd = exchange_fd(t, fd);
            std::memcpy(buf.data() + at, &fd, 4);
        }
    }
    return t.call(VFIO_DEVICE_SET_IRQS, buf.data());
}

// The devices a hot reset of the real device resets (the real answer to
// GET_PCI_HOT_RESET_INFO, asked until its count fits).
int affected_devices(ForwardTarget& t, std::vector<vfio_pci_dependent_device>& out) {
    uint32_t room = 8;
    for (int attempt = 0; attempt < 3; attempt++) {
        std::vector<uint8_t> buf(sizeof(vfio_pci_hot_reset_info) +
                                 size_t{room} * sizeof(vfio_pci_dependent_device));
        vfio_pci_hot_reset_info hdr;
        hdr.argsz = static_cast<uint32_t>(buf.size());
        hdr.flags = hdr.count = 0;
        std::memcpy(buf.data(), &hdr, sizeof(hdr));
        int rc = t.call(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, buf.data());
        std::memcpy(&hdr, buf.data(), sizeof(hdr));
        if (rc == -ENOSPC && hdr.count > room && hdr.count <= kMaxArgsz / 8) {
            room = hdr.count;
            continue;
        }
        if (rc < 0) return rc;
        out.resize(std::min(hdr.count, room));
        if (!out.empty())
            std::memcpy(out.data(), buf.data() + sizeof(hdr), out.size() * sizeof(out[0]));
        return 0;
    }
    return -EAGAIN;  // the topology kept changing, as the kernel's fill says
}

// PCI_HOT_RESET from a cdev-opened device: no group fds; every device the
// reset takes along must be owned by the caller's context
// (vfio_pci_dev_set_hot_reset() with an iommufd_ctx).
int forward_hot_reset(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_pci_hot_reset hdr;
    if (mem.read(arg, &hdr, sizeof(hdr))) return -EFAULT;
    if (hdr.argsz < sizeof(hdr) || hdr.flags || hdr.count) return -EINVAL;
    std::vector<vfio_pci_dependent_device> affected;
    int rc = affected_devices(t, affected);
    // EPERM: a device without an IOMMU group, which no reset set includes.
    if (rc) return rc == -EPERM ? -EINVAL : rc;
    std::vector<uint32_t> groups;
    for (const vfio_pci_dependent_device& d : affected) {
        ForwardTarget::Dependent dep = t.dependent(d.segment, d.bus, d.devfn);
        if (dep.devid == uint32_t(VFIO_PCI_DEVID_NOT_OWNED)) return -EINVAL;
        if (std::find(groups.begin(), groups.end(), dep.group) == groups.end())
            groups.push_back(dep.group);
    }
    return t.hot_reset(groups);
}

// The kernel reads the struct up to fd; the reserved word after it is not
// the caller's to provide.
constexpr size_t kIoeventfdMinsz = offsetof(vfio_device_ioeventfd, fd) + 4;

int forward_ioeventfd(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_device_ioeventfd ev{};
    if (mem.read(arg, &ev, kIoeventfdMinsz)) return -EFAULT;
    ev.fd = exchange_fd(t, ev.fd);
    return t.call(VFIO_DEVICE_IOEVENTFD, &ev);
}

int forward_region_rw(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    ioasidd_region_rw rw;
    if (mem.read(arg, &rw, sizeof(rw))) return -EFAULT;
    if (!region_rw_valid(rw)) return -EINVAL;
    return region_rw_user(
        mem, rw.data, rw.length, rw.flags & IOASIDD_REGION_WRITE,
        [&](uint8_t* buf, uint64_t at, uint64_t n) { return t.pread(buf, n, rw.offset + at); },
        [&](const uint8_t* buf, uint64_t at, uint64_t n) {
            return t.pwrite(buf, n, rw.offset + at);
        });
}

}  // namespace

int vfio_forward_ioctl(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& mem) {
    int rc;
    if (const Sized* s = sized(cmd))
        rc = forward_sized(t, *s, arg, mem);
    else if (cmd == VFIO_DEVICE_SET_IRQS)
        rc = forward_set_irqs(t, arg, mem);
    else if (cmd == VFIO_DEVICE_RESET)
        rc = t.call(cmd, nullptr);
    else if (cmd == IOASIDD_REGION_RW)
        rc = forward_region_rw(t, arg, mem);
    else if (cmd == VFIO_DEVICE_PCI_HOT_RESET)
        rc = forward_hot_reset(t, arg, mem);
    else if (cmd == VFIO_DEVICE_IOEVENTFD)
        rc = forward_ioeventfd(t, arg, mem);
    else
        rc = -ENOTTY;
    t.end_call();
    return rc;
}

Footprint vfio_forward_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known) {
    Footprint fp;
    if (const Sized* s = sized(cmd)) {
        fp.in.push_back({arg, 4});
        uint32_t argsz;
        if (known.read(arg, &argsz, 4)) return fp;
        fp.in[0].len = span(*s, argsz);
        fp.out.push_back(fp.in[0]);
        std::vector<uint8_t> feature(fp.in[0].len);
        if (cmd == VFIO_DEVICE_FEATURE && !known.read(arg, feature.data(), feature.size()) &&
            !feature_header_check(feature))
            logging_footprint(feature, t.tracks_dma(), fp);
    } else if (cmd == VFIO_DEVICE_SET_IRQS) {
        fp.in.push_back({arg, sizeof(vfio_irq_set)});
        vfio_irq_set hdr;
        if (known.read(arg, &hdr, sizeof(hdr))) return fp;
        fp.in[0].len += irq_data_present(hdr);
    } else if (cmd == VFIO_DEVICE_PCI_HOT_RESET) {
        fp.in.push_back({arg, sizeof(vfio_pci_hot_reset)});
    } else if (cmd == VFIO_DEVICE_IOEVENTFD) {
        fp.in.push_back({arg, kIoeventfdMinsz});
    } else if (cmd == IOASIDD_REGION_RW) {
        fp.in.push_back({arg, sizeof(ioasidd_region_rw)});
        ioasidd_region_rw rw;
        if (known.read(arg, &rw, sizeof(rw))) return fp;
        if (!region_rw_valid(rw)) return fp;
        ((rw.flags & IOASIDD_REGION_WRITE) ? fp.in : fp.out).push_back({rw.data, rw.length});
    }
    return fp;
}

}  // namespace ioasid::dispatch
