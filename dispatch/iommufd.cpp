#include "dispatch/iommufd.h"

#include <linux/capability.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <limits>

#include "dispatch/caller_source.h"
#include "dispatch/iommufd_devices.h"
#include "dispatch/iommufd_dirty.h"
#include "dispatch/iommufd_selftest.h"
#include "dispatch/ucmd.h"
#include "dispatch/vfio_compat.h"
#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::dispatch {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kMapFlags =
    IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;

uint8_t to_prot(uint32_t flags) {
    uint8_t prot = 0;
    if (flags & IOMMU_IOAS_MAP_READABLE) prot |= model::kProtRead;
    if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= model::kProtWrite;
    return prot;
}

int do_destroy(Ucmd& u) {
    const uint32_t id = u.cmd<iommu_destroy>().id;
    if (u.ctx.objects().find(id, model::ObjectType::Selftest))
        return destroy_test_object(u.ctx, id);
    return u.ctx.destroy(id);
}

int do_ioas_alloc(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_alloc>();
    if (cmd.flags) return -EOPNOTSUPP;
    uint32_t id = u.ctx.alloc_ioas();
    if (!id) return refuse(-EBUSY, "IOAS_ALLOC: the object id space is full");  // xa_alloc's
    cmd.out_ioas_id = id;
    int rc = u.respond(sizeof(cmd));
    if (rc) u.ctx.destroy(id);  // the kernel aborts the object it could not report
    return rc;
}

int do_iova_ranges(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_iova_ranges>();
    if (cmd.__reserved) return -EOPNOTSUPP;
    model::Ioas* ioas = u.ctx.ioas(cmd.ioas_id);
    if (!ioas) return -ENOENT;
    const uint32_t max_iovas = cmd.num_iovas;
    cmd.num_iovas = 0;
    cmd.out_iova_alignment = ioas->iova_alignment();
    for (const model::IovaRange& r : ioas->usable_ranges()) {
        if (cmd.num_iovas < max_iovas) {
            iommu_iova_range elm{r.start, r.last};
            uint64_t at = cmd.allowed_iovas + uint64_t{cmd.num_iovas} * sizeof(elm);
            if (u.mem.write(at, &elm, sizeof(elm))) return -EFAULT;
        }
        cmd.num_iovas++;
    }
    int rc = u.respond(sizeof(cmd));
    if (rc) return rc;
    return cmd.num_iovas > max_iovas ? -EMSGSIZE : 0;
}

// Reads the user's ranges in chunks. When a chunk faults, the elements before
// the fault still decide first: the kernel validates each one as it copies it.
int load_ranges(Ucmd& u, uint64_t uptr, uint32_t num, std::vector<model::IovaRange>& out) {
    constexpr uint32_t kChunk = 256;
    std::array<iommu_iova_range, kChunk> chunk;
    for (uint32_t done = 0; done < num;) {
        uint32_t n = std::min(kChunk, num - done);
        uint64_t at = uptr + uint64_t{done} * sizeof(iommu_iova_range);
        if (u.mem.read(at, chunk.data(), n * sizeof(iommu_iova_range)) == 0) {
            for (uint32_t i = 0; i < n; ++i) out.push_back({chunk[i].start, chunk[i].last});
            done += n;
            continue;
        }
        for (uint32_t i = 0; i < n; ++i, at += sizeof(iommu_iova_range)) {
            if (u.mem.read(at, chunk.data(), sizeof(iommu_iova_range))) {
                int rc = model::validate_ranges(out);
                return rc ? rc : -EFAULT;
            }
            out.push_back({chunk[0].start, chunk[0].last});
        }
        done += n;
    }
    return 0;
}

int do_allow_iovas(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_allow_iovas>();
    if (cmd.__reserved) return -EOPNOTSUPP;
    model::Ioas* ioas = u.ctx.ioas(cmd.ioas_id);
    if (!ioas) return -ENOENT;
    std::vector<model::IovaRange> ranges;
    int rc = load_ranges(u, cmd.allowed_iovas, cmd.num_iovas, ranges);
    if (rc) return rc;
    return ioas->set_allowed(std::move(ranges));
}

int do_ioas_map(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_map>();
    if ((cmd.flags & ~kMapFlags) || cmd.__reserved) return -EOPNOTSUPP;
    if (cmd.iova >= kU64Max || cmd.length >= kU64Max) return -EOVERFLOW;
    if (!(cmd.flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
        return refuse(-EINVAL, "IOAS_MAP: neither READABLE nor WRITEABLE");
    model::Ioas* ioas = u.ctx.ioas(cmd.ioas_id);
    if (!ioas) return -ENOENT;
    const bool fixed = cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA;
    uint64_t iova = fixed ? cmd.iova : 0;
    uint32_t source = caller_source(u.ctx, u.caller);
    int rc = ioas->map(cmd.user_va, cmd.length, to_prot(cmd.flags), fixed, source, iova);
    if (rc) return rc;
    rc = pin_new_area(*ioas, u.caller, iova, cmd.user_va, cmd.length,
                      cmd.flags & IOMMU_IOAS_MAP_WRITEABLE);
    if (rc) return rc;
    cmd.iova = iova;
    return u.respond(sizeof(cmd));
}

int do_ioas_copy(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_copy>();
    if (cmd.flags & ~kMapFlags) return -EOPNOTSUPP;
    if (cmd.length >= kU64Max || cmd.src_iova >= kU64Max || cmd.dst_iova >= kU64Max)
        return -EOVERFLOW;
    if (!(cmd.flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
        return refuse(-EINVAL, "IOAS_COPY: neither READABLE nor WRITEABLE");
    model::Ioas* src = u.ctx.ioas(cmd.src_ioas_id);
    if (!src) return -ENOENT;
    std::vector<model::Segment> segs;
    int rc = src->get_segments(cmd.src_iova, cmd.length, segs);
    if (rc) return rc;
    model::Ioas* dst = u.ctx.ioas(cmd.dst_ioas_id);
    if (!dst) return -ENOENT;
    const bool fixed = cmd.flags & IOMMU_IOAS_MAP_FIXED_IOVA;
    uint64_t iova = fixed ? cmd.dst_iova : 0;
    rc = dst->map_segments(segs, cmd.length, to_prot(cmd.flags), fixed, iova);
    if (rc) return rc;
    cmd.dst_iova = iova;
    return u.respond(sizeof(cmd));
}

int do_ioas_unmap(Ucmd& u) {
    auto& cmd = u.cmd<iommu_ioas_unmap>();
    model::Ioas* ioas = u.ctx.ioas(cmd.ioas_id);
    if (!ioas) return -ENOENT;
    uint64_t unmapped = 0;
    if (cmd.iova == 0 && cmd.length == kU64Max) {
        ioas->unmap_all(unmapped);
    } else {
        if (cmd.iova >= kU64Max || cmd.length >= kU64Max) return -EOVERFLOW;
        int rc = ioas->unmap(cmd.iova, cmd.length, unmapped);
        if (rc) return rc;
        if (!unmapped) return -ENOENT;
    }
    cmd.length = unmapped;
    return u.respond(sizeof(cmd));
}

int option_rlimit_mode(Ucmd& u, iommu_option& cmd) {
    if (cmd.object_id) return -EOPNOTSUPP;
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = u.ctx.account_mode() == model::AccountMode::Mm;
        return 0;
    }
    if (cmd.op == IOMMU_OPTION_OP_SET)
        return u.ctx.set_account_mode(cmd.val64, u.caller.capable(CAP_SYS_RESOURCE));
    return -EOPNOTSUPP;
}

int option_huge_pages(Ucmd& u, iommu_option& cmd) {
    model::Ioas* ioas = u.ctx.ioas(cmd.object_id);
    if (!ioas) return -ENOENT;
    if (cmd.op == IOMMU_OPTION_OP_GET) {
        cmd.val64 = ioas->huge_pages();
        return 0;
    }
    if (cmd.op == IOMMU_OPTION_OP_SET) {
        if (cmd.val64 > 1) return refuse(-EINVAL, "OPTION: a value past 1");
        return ioas->set_huge_pages(cmd.val64 == 1);
    }
    return -EOPNOTSUPP;
}

int do_option(Ucmd& u) {
    auto& cmd = u.cmd<iommu_option>();
    if (cmd.__reserved) return -EOPNOTSUPP;
    int rc;
    switch (cmd.option_id) {
        case IOMMU_OPTION_RLIMIT_MODE:
            rc = option_rlimit_mode(u, cmd);
            break;
        case IOMMU_OPTION_HUGE_PAGES:
            rc = option_huge_pages(u, cmd);
            break;
        default:
            return -EOPNOTSUPP;
    }
    if (rc) return rc;
    // Only val64 goes back, whatever the user's size.
    return u.mem.write(u.arg + offsetof(iommu_option, val64), &cmd.val64, sizeof(cmd.val64));
}

int do_vfio_ioas(Ucmd& u) {
    auto& cmd = u.cmd<iommu_vfio_ioas>();
    if (cmd.__reserved) return -EOPNOTSUPP;
    switch (cmd.op) {
        case IOMMU_VFIO_IOAS_GET:
            if (!u.ctx.vfio_ioas()) return -ENODEV;
            cmd.ioas_id = u.ctx.vfio_ioas();
            return u.respond(sizeof(cmd));
        case IOMMU_VFIO_IOAS_SET:
            if (!u.ctx.ioas(cmd.ioas_id)) return -ENOENT;
            u.ctx.set_vfio_ioas(cmd.ioas_id);
            return 0;
        case IOMMU_VFIO_IOAS_CLEAR:
            u.ctx.set_vfio_ioas(0);
            return 0;
        default:
            return -EOPNOTSUPP;
    }
}

// Arrays a command reads or writes besides its struct, for the footprint:
// only when the handler's checks before the array would pass.
void ranges_in(const model::Context& ctx, const void* c, Footprint& fp) {
    auto* cmd = static_cast<const iommu_ioas_allow_iovas*>(c);
    if (cmd->__reserved || !ctx.ioas(cmd->ioas_id)) return;
    fp.in.push_back({cmd->allowed_iovas, uint64_t{cmd->num_iovas} * sizeof(iommu_iova_range)});
}

// Out only: the kernel writes the ranges from the first element on, and
// never reads them, so a caller whose buffer is shorter than num_iovas claims
// still gets the kernel's answer when fewer ranges exist.
void ranges_out(const model::Context& ctx, const void* c, Footprint& fp) {
    auto* cmd = static_cast<const iommu_ioas_iova_ranges*>(c);
    if (cmd->__reserved || !ctx.ioas(cmd->ioas_id)) return;
    fp.out.push_back({cmd->allowed_iovas, uint64_t{cmd->num_iovas} * sizeof(iommu_iova_range)});
}

// GET_HW_INFO zeroes the user's data buffer: written from its start.
void hw_info_out(const model::Context& ctx, const void* c, Footprint& fp) {
    auto* cmd = static_cast<const iommu_hw_info*>(c);
    if (cmd->flags || cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2]) return;
    if (!ctx.objects().find(cmd->dev_id, model::ObjectType::Device) || !cmd->data_len) return;
    fp.out.push_back({cmd->data_uptr, cmd->data_len});
}

struct Op {
    uint32_t ioctl_num;
    uint32_t size;
    uint32_t min_size;  // offsetofend of the last field the command needs
    int (*execute)(Ucmd&);
    void (*arrays)(const model::Context& ctx, const void* cmd, Footprint& fp);
    const char* name;
};

#define IOASID_OP(num, fn, type, last, arrays, name)                                   \
    Op {                                                                               \
        num, sizeof(type), offsetof(type, last) + sizeof(type::last), fn, arrays, name \
    }

constexpr std::array kOps = {
    IOASID_OP(IOMMU_DESTROY, do_destroy, iommu_destroy, id, nullptr, "DESTROY"),
    IOASID_OP(IOMMU_IOAS_ALLOC, do_ioas_alloc, iommu_ioas_alloc, out_ioas_id, nullptr,
              "IOAS_ALLOC"),
    IOASID_OP(IOMMU_IOAS_ALLOW_IOVAS, do_allow_iovas, iommu_ioas_allow_iovas, allowed_iovas,
              ranges_in, "IOAS_ALLOW_IOVAS"),
    IOASID_OP(IOMMU_IOAS_COPY, do_ioas_copy, iommu_ioas_copy, src_iova, nullptr, "IOAS_COPY"),
    IOASID_OP(IOMMU_IOAS_IOVA_RANGES, do_iova_ranges, iommu_ioas_iova_ranges, out_iova_alignment,
              ranges_out, "IOAS_IOVA_RANGES"),
    IOASID_OP(IOMMU_IOAS_MAP, do_ioas_map, iommu_ioas_map, iova, nullptr, "IOAS_MAP"),
    IOASID_OP(IOMMU_IOAS_UNMAP, do_ioas_unmap, iommu_ioas_unmap, length, nullptr, "IOAS_UNMAP"),
    IOASID_OP(IOMMU_OPTION, do_option, iommu_option, val64, nullptr, "OPTION"),
    IOASID_OP(IOMMU_VFIO_IOAS, do_vfio_ioas, iommu_vfio_ioas, __reserved, nullptr, "VFIO_IOAS"),
    IOASID_OP(IOMMU_HWPT_ALLOC, do_hwpt_alloc, iommu_hwpt_alloc, __reserved, nullptr, "HWPT_ALLOC"),
    IOASID_OP(IOMMU_GET_HW_INFO, do_get_hw_info, iommu_hw_info, __reserved, hw_info_out,
              "GET_HW_INFO"),
    IOASID_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, do_set_dirty_tracking, iommu_hwpt_set_dirty_tracking,
              __reserved, nullptr, "HWPT_SET_DIRTY_TRACKING"),
    IOASID_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, do_get_dirty_bitmap, iommu_hwpt_get_dirty_bitmap, data,
              dirty_bitmap_arrays, "HWPT_GET_DIRTY_BITMAP"),
    IOASID_OP(IOMMU_HWPT_INVALIDATE, do_hwpt_invalidate, iommu_hwpt_invalidate, __reserved, nullptr,
              "HWPT_INVALIDATE"),
};
// Statistics number the table's commands, then the test command, then
// VFIO compatibility's.
static_assert(kOps.size() + 1 + kVfioCompatCommandCount == kIommufdCommandCount);

// A kernel built with CONFIG_IOMMUFD_TEST has one more command, far past the
// others; ioasidd has it in contexts made with --test-ops.
constexpr Op kTestOp =
    IOASID_OP(IOMMU_TEST_CMD, do_test_cmd, iommu_test_cmd, last, test_cmd_arrays, "TEST_CMD");
static_assert(sizeof(iommu_test_cmd) <= kMaxCommandSize);

// The command's entry, or nullptr for one not served (ENOTTY before the
// size is read).
const Op* lookup(const model::Context* ctx, uint32_t cmd) {
    uint32_t nr = _IOC_NR(cmd);
    if (nr == _IOC_NR(IOMMU_TEST_CMD)) return ctx && ctx->test_ops() ? &kTestOp : nullptr;
    if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= kOps.size()) return nullptr;
    const Op* op = &kOps[nr - IOMMUFD_CMD_BASE];
    return op->execute ? op : nullptr;
}

}  // namespace

int copy_struct_from_user(void* dst, size_t ksize, UserMemory& mem, uint64_t src, size_t usize) {
    const size_t size = std::min(ksize, usize);
    if (usize < ksize) {
        std::memset(static_cast<char*>(dst) + size, 0, ksize - size);
    } else if (usize > ksize) {
        unsigned char tail[256];
        for (uint64_t at = src + ksize, left = usize - ksize; left;) {
            size_t n = std::min<uint64_t>(left, sizeof(tail));
            if (mem.read(at, tail, n)) return -EFAULT;
            for (size_t i = 0; i < n; ++i)
                if (tail[i]) return -E2BIG;
            at += n;
            left -= n;
        }
    }
    return mem.read(src, dst, size) ? -EFAULT : 0;
}

int iommufd_ioctl(model::Context& ctx, uint32_t cmd, uint64_t arg, UserMemory& mem,
                  Caller& caller) {
    if (_IOC_TYPE(cmd) == IOASIDD_TYPE) return ioasidd_ioctl(ctx, cmd, arg, mem);
    const Op* op = lookup(&ctx, cmd);
    if (!op) return vfio_compat_ioctl(ctx, cmd, arg, mem, caller);
    uint32_t user_size;
    if (mem.read(arg, &user_size, sizeof(user_size))) return -EFAULT;
    if (op->ioctl_num != cmd) return -ENOTTY;
    if (user_size < op->min_size) return refuse(-EINVAL, "size short of the command's minimum");
    Ucmd u{ctx, mem, caller, arg, user_size, {}};
    int rc = copy_struct_from_user(u.buf, op->size, mem, arg, user_size);
    if (rc) return rc;
    return op->execute(u);
}

Footprint iommufd_footprint(const model::Context& ctx, uint32_t cmd, uint64_t arg,
                            UserMemory& known) {
    if (_IOC_TYPE(cmd) == IOASIDD_TYPE) return ioasidd_footprint(cmd, arg);
    const Op* op = lookup(&ctx, cmd);
    if (!op) return vfio_compat_footprint(ctx, cmd, arg, known);
    Footprint fp;
    // Like the kernel, read the size before looking at the rest of the number.
    fp.in.push_back({arg, sizeof(uint32_t)});
    uint32_t user_size;
    if (known.read(arg, &user_size, sizeof(user_size)) || op->ioctl_num != cmd ||
        user_size < op->min_size)
        return fp;
    fp.in[0].len = user_size;
    fp.out.push_back({arg, std::min(user_size, op->size)});
    // Arrays only when the struct itself passes, as the handler would see it.
    alignas(8) unsigned char buf[kMaxCommandSize];
    if (copy_struct_from_user(buf, op->size, known, arg, user_size)) return fp;
    if (op->arrays) op->arrays(ctx, buf, fp);
    return fp;
}

namespace {

// The legacy group API's commands on opens made containers or groups.
const char* group_api_command_name(uint32_t cmd) {
    switch (cmd) {
        case IOASIDD_FILE_COOKIE:
            return "IOASIDD_FILE_COOKIE";
        case IOASIDD_VFIO_CONTAINER:
            return "IOASIDD_VFIO_CONTAINER";
        case IOASIDD_VFIO_GROUP:
            return "IOASIDD_VFIO_GROUP";
        case IOASIDD_GROUP_FIND_DEVICE:
            return "IOASIDD_GROUP_FIND_DEVICE";
        case IOASIDD_GROUP_OPEN_DEVICE:
            return "IOASIDD_GROUP_OPEN_DEVICE";
        case IOASIDD_GROUP_SET_CONTAINER:
            return "IOASIDD_GROUP_SET_CONTAINER";
        case VFIO_GROUP_GET_STATUS:
            return "VFIO_GROUP_GET_STATUS";
        case VFIO_GROUP_UNSET_CONTAINER:
            return "VFIO_GROUP_UNSET_CONTAINER";
        default:
            return nullptr;
    }
}

}  // namespace

const char* iommufd_command_name(uint32_t cmd) {
    if (cmd == IOASIDD_GROUP_STATUS) return "IOASIDD_GROUP_STATUS";
    if (cmd == IOASIDD_FILE_ID) return "IOASIDD_FILE_ID";
    if (cmd == IOASIDD_NODE_KIND) return "IOASIDD_NODE_KIND";
    if (const char* name = group_api_command_name(cmd)) return name;
    if (cmd == IOMMU_TEST_CMD) return kTestOp.name;
    const Op* op = lookup(nullptr, cmd);
    if (!op) return vfio_compat_command_name(cmd);
    return op->ioctl_num == cmd ? op->name : nullptr;
}

int iommufd_command_index(uint32_t cmd) {
    if (cmd == IOMMU_TEST_CMD) return static_cast<int>(kOps.size());
    const Op* op = lookup(nullptr, cmd);
    if (op) return op->ioctl_num == cmd ? static_cast<int>(op - kOps.data()) : -1;
    const int compat = vfio_compat_command_index(cmd);
    return compat < 0 ? -1 : static_cast<int>(kOps.size()) + 1 + compat;
}

}  // namespace ioasid::dispatch
