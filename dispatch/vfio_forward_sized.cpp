#include "dispatch/vfio_forward_sized.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "dispatch/guarded_page.h"
#include "dispatch/vfio_forward_logging.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

// A capability chain larger than this is not carried (the kernel's are a
// few dozen bytes).
constexpr uint32_t kMaxCaps = 64 * 1024;

// What vfio-pci copies for an info command (6.12's vfio_pci_ioctl_get_*):
// `in` bytes in (its minsz; a smaller argsz is EINVAL), then on success
// `in` bytes back, or min(argsz, size) for GET_INFO, and a capability
// chain at `size` when argsz leaves room for all of it (else argsz says
// how much room it needs, and `caps_flag` that there is one).
struct InfoCopy {
    uint32_t cmd;
    uint32_t in;
    uint32_t size;
    bool out_to_argsz;
    uint32_t caps_flag;  // 0: the command has no chain
};
constexpr InfoCopy kInfo[] = {
    {VFIO_DEVICE_GET_INFO, 16, sizeof(vfio_device_info), true, VFIO_DEVICE_FLAGS_CAPS},
    {VFIO_DEVICE_GET_REGION_INFO, 32, sizeof(vfio_region_info), false, VFIO_REGION_INFO_FLAG_CAPS},
    {VFIO_DEVICE_GET_IRQ_INFO, 16, sizeof(vfio_irq_info), false, 0},
};
static_assert(sizeof(vfio_device_info) == 24 && sizeof(vfio_region_info) == 32 &&
              sizeof(vfio_irq_info) == 16);

const InfoCopy* info_row(uint32_t cmd) {
    for (const InfoCopy& r : kInfo)
        if (r.cmd == cmd) return &r;
    return nullptr;
}

// How one call is laid out: the caller's argsz, the chain the device
// appends (0: none, or no room for it), what the kernel is told.
struct InfoPlan {
    uint32_t argsz = 0;
    uint32_t size = 0;
    uint32_t caps = 0;
    uint32_t passed = 0;
    uint32_t argsz_needed() const { return size + caps; }
    bool caps_fit() const { return caps && passed == argsz_needed(); }
};

// The chain's size: the room the kernel says it needs when asked with an
// argsz of the struct alone, less the struct; 0 for none.
uint32_t chain_size(ForwardTarget& t, const InfoCopy& r, const uint8_t* in) {
    uint8_t buf[32] = {};
    std::memcpy(buf, in, r.in);
    std::memcpy(buf, &r.size, 4);
    if (t.query(r.cmd, buf) < 0) return 0;  // the caller's call will say why
    uint32_t needed, flags;
    std::memcpy(&needed, buf, 4);
    std::memcpy(&flags, buf + 4, 4);
    if (!(flags & r.caps_flag) || needed <= r.size || needed - r.size > kMaxCaps) return 0;
    return needed - r.size;
}

// The chain is asked for only when the caller left room past the struct:
// otherwise the kernel writes none, whatever its size.
InfoPlan plan_info(ForwardTarget& t, const InfoCopy& r, const uint8_t* in) {
    InfoPlan p;
    std::memcpy(&p.argsz, in, 4);
    p.size = r.size;
    if (r.caps_flag && p.argsz > r.size) p.caps = chain_size(t, r, in);
    p.passed = std::min(p.argsz, p.argsz_needed());
    return p;
}

uint32_t info_out(const InfoCopy& r, uint32_t argsz) {
    return r.out_to_argsz ? std::min(argsz, r.size) : r.in;
}

}  // namespace

bool forward_info_command(uint32_t cmd) {
    return info_row(cmd) != nullptr;
}

int forward_info(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& mem) {
    const InfoCopy& r = *info_row(cmd);
    uint8_t in[32] = {};
    if (mem.read(arg, in, r.in)) return -EFAULT;
    const InfoPlan p = plan_info(t, r, in);
    std::vector<uint8_t> buf(std::max(p.argsz_needed(), r.size));
    std::memcpy(buf.data(), in, r.in);
    std::memcpy(buf.data(), &p.passed, 4);
    const int rc = t.call(cmd, buf.data());
    if (rc < 0) return rc;
    uint32_t argsz;
    std::memcpy(&argsz, buf.data(), 4);
    if (argsz == p.passed) std::memcpy(buf.data(), &p.argsz, 4);  // the caller's, as it was
    // The kernel copies the chain first, then the struct.
    if (p.caps_fit() && mem.write(arg + r.size, buf.data() + r.size, p.caps)) return -EFAULT;
    return mem.write(arg, buf.data(), info_out(r, p.argsz)) ? -EFAULT : rc;
}

Footprint forward_info_footprint(ForwardTarget& t, uint32_t cmd, uint64_t arg, UserMemory& known) {
    const InfoCopy& r = *info_row(cmd);
    Footprint fp;
    fp.in.push_back({arg, r.in});
    uint8_t in[32] = {};
    if (known.read(arg, in, r.in)) return fp;
    const InfoPlan p = plan_info(t, r, in);
    if (p.caps_fit()) fp.out.push_back({arg + r.size, p.caps});
    fp.out.push_back({arg, info_out(r, p.argsz)});
    return fp;
}

namespace {

// What the kernel copies for a feature (6.12's vfio_ioctl_device_feature()
// and vfio-pci's device_feature): once vfio_check_feature() lets the call
// act, `in` data bytes in, and on success `out` back.
struct FeatureCopy {
    uint32_t feature;
    uint32_t ops;    // GET and SET, as the feature takes them
    uint32_t minsz;  // the least data argsz must cover
    uint32_t in;
    uint32_t out;
};
constexpr uint32_t kGet = VFIO_DEVICE_FEATURE_GET, kSet = VFIO_DEVICE_FEATURE_SET;
constexpr FeatureCopy kFeatures[] = {
    {VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, kSet, 16, 16, 0},
    {VFIO_DEVICE_FEATURE_MIGRATION, kGet, 8, 0, 8},
    {VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, kGet | kSet, 8, 8, 8},
    {VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, kSet, 0, 0, 0},
    {VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, kSet, 8, 8, 0},
    {VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, kSet, 0, 0, 0},
    {VFIO_DEVICE_FEATURE_DMA_LOGGING_START, kSet, 24, 24, 24},
    {VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, kSet, 0, 0, 0},
    {VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, kGet, 32, 32, 0},
    {VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, kGet, 8, 0, 8},
};
constexpr uint32_t kHeader = 8;

const FeatureCopy* feature_row(uint32_t feature) {
    for (const FeatureCopy& f : kFeatures)
        if (f.feature == feature) return &f;
    return nullptr;
}

// vfio_ioctl_device_feature()'s checks of the header, which come before any
// feature reads its data: answered here, as the kernel answers them.
int header_check(uint32_t argsz, uint32_t flags) {
    constexpr uint32_t kKnown = VFIO_DEVICE_FEATURE_MASK | kSet | kGet | VFIO_DEVICE_FEATURE_PROBE;
    if (argsz < kHeader) return refuse(-EINVAL, "FEATURE: argsz short of flags");
    if (flags & ~kKnown) return refuse(-EINVAL, "FEATURE: unknown flags");
    if (!(flags & VFIO_DEVICE_FEATURE_PROBE) && (flags & (kSet | kGet)) == (kSet | kGet))
        return refuse(-EINVAL, "FEATURE: both GET and SET without PROBE");
    return 0;
}

// vfio_check_feature() says 1: the feature reads and writes its data.
bool acts(const FeatureCopy& f, uint32_t argsz, uint32_t flags) {
    const uint32_t ops = flags & (kSet | kGet);
    return ops && !(ops & ~f.ops) && !(flags & VFIO_DEVICE_FEATURE_PROBE) &&
           argsz - kHeader >= f.minsz;
}

// The header and data the kernel reaches, with an argsz that makes every
// decision the caller's would (no feature looks past its own data).
struct FeaturePlan {
    const FeatureCopy* row = nullptr;
    uint32_t argsz = 0, flags = 0, passed = 0;
    bool acting = false;
    size_t data() const { return acting ? std::max(row->in, row->out) : 0; }
};

int plan_feature(const uint32_t header[2], FeaturePlan& p) {
    p.argsz = header[0];
    p.flags = header[1];
    if (int rc = header_check(p.argsz, p.flags)) return rc;
    p.row = feature_row(p.flags & VFIO_DEVICE_FEATURE_MASK);
    if (!p.row) {  // unknown here: its data go nowhere (6.12 says ENOTTY)
        p.passed = kHeader;
        return 0;
    }
    p.acting = acts(*p.row, p.argsz, p.flags);
    const uint32_t most = kHeader + std::max({p.row->minsz, p.row->in, p.row->out});
    p.passed = std::min(p.argsz, most);
    return 0;
}

// As many of `len` bytes at `addr` as the caller can give, from the start.
size_t readable_prefix(UserMemory& mem, uint64_t addr, size_t len, uint8_t* out) {
    if (!mem.read(addr, out, len)) return len;
    size_t got = 0;
    while (got < len && !mem.read(addr + got, out + got, 1)) ++got;
    return got;
}

// Data the caller has only part of: the kernel faults reading it, after
// the checks it makes first, as it would in the caller's memory.
int call_short_data(ForwardTarget& t, const uint8_t* header, const uint8_t* data, size_t got) {
    GuardedPage page;
    uint8_t* at = page.place(kHeader + got);
    if (!at) return -ENOMEM;
    std::memcpy(at, header, kHeader);
    std::memcpy(at + kHeader, data, got);
    return t.call(VFIO_DEVICE_FEATURE, at);
}

// The wakeup eventfd goes as the daemon's duplicate; the caller's number
// comes back in its struct.
int call_with_wakeup(ForwardTarget& t, std::vector<uint8_t>& f) {
    int32_t user_fd;
    std::memcpy(&user_fd, f.data() + kHeader, 4);
    const int32_t fd = forward_fd(t, user_fd);
    std::memcpy(f.data() + kHeader, &fd, 4);
    const int rc = t.call(VFIO_DEVICE_FEATURE, f.data());
    std::memcpy(f.data() + kHeader, &user_fd, 4);
    return rc;
}

int call_feature(ForwardTarget& t, const FeaturePlan& p, std::vector<uint8_t>& f, UserMemory& mem) {
    switch (p.row ? p.row->feature : ~0u) {
        case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
            return forward_logging_start(t, f, p.acting, mem);
        case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
            return forward_logging_report(t, f, p.acting, mem);
        case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
            if (p.acting) return call_with_wakeup(t, f);
            break;
    }
    return t.call(VFIO_DEVICE_FEATURE, f.data());
}

}  // namespace

int forward_feature(ForwardTarget& t, uint64_t arg, UserMemory& mem) {
    uint32_t header[2];
    if (mem.read(arg, header, kHeader)) return -EFAULT;
    FeaturePlan p;
    if (int rc = plan_feature(header, p)) return rc;
    // A migration's new state answers with a data fd, which would be the
    // daemon's (a probe is the kernel's to answer).
    if (p.row && p.row->feature == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE && p.acting &&
        (p.flags & kSet))
        return -EOPNOTSUPP;
    std::vector<uint8_t> f(kHeader + p.data());
    std::memcpy(f.data(), header, kHeader);
    std::memcpy(f.data(), &p.passed, 4);
    if (p.acting && p.row->in) {
        const size_t got = readable_prefix(mem, arg + kHeader, p.row->in, f.data() + kHeader);
        if (got < p.row->in) return call_short_data(t, f.data(), f.data() + kHeader, got);
    }
    const int rc = call_feature(t, p, f, mem);
    if (rc < 0 || !p.acting || !p.row->out) return rc;
    return mem.write(arg + kHeader, f.data() + kHeader, p.row->out) ? -EFAULT : rc;
}

Footprint forward_feature_footprint(ForwardTarget& t, uint64_t arg, UserMemory& known) {
    Footprint fp;
    fp.in.push_back({arg, kHeader});
    uint32_t header[2];
    FeaturePlan p;
    if (known.read(arg, header, kHeader) || plan_feature(header, p) || !p.acting) return fp;
    if (p.row->in) fp.in.push_back({arg + kHeader, p.row->in});
    std::vector<uint8_t> f(kHeader + p.data());
    std::memcpy(f.data(), header, kHeader);
    std::memcpy(f.data(), &p.passed, 4);
    if (p.row->in && known.read(arg + kHeader, f.data() + kHeader, p.row->in)) return fp;
    if (p.row->out) fp.out.push_back({arg + kHeader, p.row->out});
    logging_footprint(f, t.tracks_dma(), fp);
    return fp;
}

}  // namespace ioasid::dispatch
