#include "dispatch/vfio_forward.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "dispatch/region_rw.h"
#include "dispatch/vfio_forward_reset.h"
#include "dispatch/vfio_forward_sized.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

// A buffer the daemon passes on is cut here.
constexpr uint32_t kMaxArgsz = 64 * 1024;
// An fd number no daemon holds: the real kernel answers EBADF for it, at the
// point of its own checks where it would have for the caller's bad fd.
constexpr int32_t kNoSuchFd = 0x7ffffff0;

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

// The data the kernel copies in: all of it when argsz covers it, else none
// (vfio_set_irqs_validate_and_prepare() answers EINVAL from the header we
// pass on, before it reads any).
size_t irq_data_present(const vfio_irq_set& hdr) {
    const size_t room = hdr.argsz > sizeof(hdr) ? hdr.argsz - sizeof(hdr) : 0;
    const size_t data = irq_data_size(hdr);
    return data <= room && data <= kMaxArgsz ? data : 0;
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
            fd = forward_fd(t, fd);
            std::memcpy(buf.data() + at, &fd, 4);
        }
    }
    return t.call(VFIO_DEVICE_SET_IRQS, buf.data());
}

// The kernel reads the struct up to fd; the reserved word after it is not
// the caller's to provide.
constexpr size_t kIoeventfdMinsz = offsetof(vfio_device_ioeventfd, fd) + 4;

int forward_ioeventfd(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    vfio_device_ioeventfd ev{};
    if (mem.read(arg, &ev, kIoeventfdMinsz)) return -EFAULT;
    ev.fd = forward_fd(t, ev.fd);
    return t.call(VFIO_DEVICE_IOEVENTFD, &ev);
}

int forward_region_rw(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    ioasidd_region_rw rw;
    if (mem.read(arg, &rw, sizeof(rw))) return -EFAULT;
    if (!region_rw_valid(rw)) return refuse(-EINVAL, "REGION_RW: argsz, flags or length");
    return region_rw_user(
        mem, rw.data, rw.length, rw.flags & IOASIDD_REGION_WRITE,
        [&](uint8_t* buf, uint64_t at, uint64_t n) { return t.pread(buf, n, rw.offset + at); },
        [&](const uint8_t* buf, uint64_t at, uint64_t n) {
            return t.pwrite(buf, n, rw.offset + at);
        });
}

}  // namespace

int32_t forward_fd(ForwardTarget& t, int32_t user_fd) {
    if (user_fd < 0) return user_fd;
    const int32_t local = t.take_fd(user_fd);
    return local >= 0 ? local : kNoSuchFd;
}

int vfio_forward_ioctl(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& mem) {
    int rc;
    if (forward_info_command(cmd))
        rc = forward_info(t, cmd, arg, mem);
    else if (cmd == VFIO_DEVICE_FEATURE)
        rc = forward_feature(t, arg, mem);
    else if (cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO)
        rc = forward_hot_reset_info(t, arg, mem);
    else if (cmd == VFIO_DEVICE_SET_IRQS)
        rc = forward_set_irqs(t, arg, mem);
    else if (cmd == VFIO_DEVICE_RESET)
        rc = t.call(cmd, nullptr);
    else if (cmd == IOASIDD_REGION_RW)
        rc = forward_region_rw(t, arg, mem);
    else if (cmd == VFIO_DEVICE_PCI_HOT_RESET)
        rc = forward_hot_reset(t, arg, mem);
    else if (cmd == IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS)
        rc = forward_hot_reset_groups(t, arg, mem);
    else if (cmd == VFIO_DEVICE_IOEVENTFD)
        rc = forward_ioeventfd(t, arg, mem);
    else
        rc = -ENOTTY;
    t.end_call();
    return rc;
}

Footprint vfio_forward_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known) {
    if (forward_info_command(cmd)) return forward_info_footprint(t, cmd, arg, known);
    if (cmd == VFIO_DEVICE_FEATURE) return forward_feature_footprint(t, arg, known);
    if (cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO || cmd == VFIO_DEVICE_PCI_HOT_RESET ||
        cmd == IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS)
        return hot_reset_footprint(t, cmd, arg, known);
    Footprint fp;
    if (cmd == VFIO_DEVICE_SET_IRQS) {
        fp.in.push_back({arg, sizeof(vfio_irq_set)});
        vfio_irq_set hdr;
        if (known.read(arg, &hdr, sizeof(hdr))) return fp;
        fp.in[0].len += irq_data_present(hdr);
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
