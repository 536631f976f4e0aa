#include "daemon/group_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "daemon/log.h"
#include "host/caller.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"
#include "model/vfio_group.h"

namespace ioasid::daemon {

namespace {

constexpr uint64_t kPage = 4096;
// strndup_user(arg, PAGE_SIZE): GET_DEVICE_FD's name, NUL included.
constexpr size_t kNameMax = kPage;

// The name at `at`, read as strnlen_user() reads: up to each page's end, so
// that a string ending before an unmapped page is read. -EFAULT, or
// -EINVAL when no NUL comes within kNameMax bytes.
int read_name(dispatch::UserMemory& mem, uint64_t at, std::string& out) {
    out.clear();
    while (out.size() < kNameMax) {
        char chunk[kPage];
        const size_t n = std::min<uint64_t>(kPage - at % kPage, kNameMax - out.size());
        if (mem.read(at, chunk, n)) return -EFAULT;
        if (const void* nul = std::memchr(chunk, 0, n)) {
            out.append(chunk, static_cast<const char*>(nul) - chunk);
            return 0;
        }
        out.append(chunk, n);
        at += n;
    }
    return refuse(-EINVAL, "GET_DEVICE_FD: no NUL within a page of the name");
}

// The footprint of that read, as far as `known` shows the string.
void name_footprint(dispatch::UserMemory& known, uint64_t at, dispatch::Footprint& fp) {
    for (size_t done = 0; done < kNameMax;) {
        char chunk[kPage];
        const size_t n = std::min<uint64_t>(kPage - at % kPage, kNameMax - done);
        fp.in.push_back({at, n});
        if (known.read(at, chunk, n) || std::memchr(chunk, 0, n)) return;
        at += n;
        done += n;
    }
}

// The context a group file's group is set to, and its lock when there is one.
struct SetLock {
    std::shared_ptr<IommufdFile> set;
    std::unique_lock<std::mutex> lock;
    explicit SetLock(IommufdFile& f) {
        {
            std::lock_guard g(f.group_mutex);
            set = f.group_set;
        }
        if (set) lock = std::unique_lock(set->ctx.mutex());
    }
    model::Context* ctx() const { return set ? &set->ctx : nullptr; }
};

}  // namespace

int GroupFiles::open(IommufdFile& f, uint32_t group, const dispatch::Caller& caller) {
    std::vector<std::string> devices;
    {
        std::lock_guard lock(topology_.mutex);
        if (const model::Group* g = topology_.topo.group(group)) devices = g->devices;
    }
    int served = 0;
    for (const std::string& address : devices) {
        const int rc = with_node_(address, [&](DeviceNode&, const std::string& devname) {
            return host::may_open_rw(static_cast<pid_t>(caller.tid), "/dev/" + devname) ? 0
                                                                                        : -EACCES;
        });
        if (rc == -EACCES) {
            LOG_DEBUG("group %u: open refused: uid %u may not open the node of %s", group,
                      caller.uid, address.c_str());
            return rc;
        }
        if (rc == 0) ++served;
    }
    if (!served) {
        LOG_DEBUG("group %u: open refused: ioasidd serves no node of it", group);
        return -ENODEV;
    }
    std::lock_guard lock(topology_.mutex);
    const int rc = model::group_open(topology_.topo, group, f.id);
    if (rc) {
        LOG_DEBUG("group %u: open refused: %s", group,
                  rc == -EBUSY ? "open already, or a device of it is open through its node"
                               : "its devices are gone");
        return rc;
    }
    f.group = group;
    LOG_INFO("group %u: opened by pid %u", group, f.opener_tgid);
    return 0;
}

void GroupFiles::release(IommufdFile& f) {
    SetLock set(f);
    {
        std::lock_guard lock(topology_.mutex);
        model::group_close(set.ctx(), topology_.topo, f.group);
    }
    std::lock_guard g(f.group_mutex);
    f.group_set.reset();  // the group's devices hold it while they need it
}

int GroupFiles::status(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem) {
    vfio_group_status st;
    if (mem.read(arg, &st, sizeof(st))) return -EFAULT;
    if (st.argsz < sizeof(st)) return refuse(-EINVAL, "GET_STATUS: argsz short");
    {
        std::lock_guard lock(topology_.mutex);
        if (int rc = model::group_status(topology_.topo, f.group, st.flags)) return rc;
    }
    return mem.write(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

int GroupFiles::set_container(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem) {
    uint64_t cookie;
    if (mem.read(arg, &cookie, sizeof(cookie))) return -EFAULT;
    std::shared_ptr<IommufdFile> target = iommufd_.find_cookie(cookie);
    // A group is no container: vfio_group_ioctl_set_container()'s EBADFD.
    if (!target || target->is_group) {
        LOG_DEBUG("group %u: SET_CONTAINER names no container or iommufd", f.group);
        return -EBADFD;
    }
    int rc;
    {
        std::lock_guard ctx_lock(target->ctx.mutex());
        std::lock_guard lock(topology_.mutex);
        rc = model::group_set_container(target->ctx, topology_.topo, f.group);
    }
    if (rc) {
        LOG_DEBUG("group %u: SET_CONTAINER refused: %s", f.group,
                  rc == -EINVAL  ? "set to a container already"
                  : rc == -EPERM ? "its DMA is owned elsewhere, or it is not viable"
                                 : "its devices are gone");
        return rc;
    }
    std::lock_guard g(f.group_mutex);
    f.group_set = std::move(target);
    return 0;
}

int GroupFiles::unset_container(IommufdFile& f) {
    SetLock set(f);
    int rc;
    {
        std::lock_guard lock(topology_.mutex);
        rc = model::group_unset_container(set.ctx(), topology_.topo, f.group);
    }
    if (rc) {
        LOG_DEBUG("group %u: UNSET_CONTAINER refused: %s", f.group,
                  rc == -EBUSY ? "devices opened through it are open" : "no container is set");
        return rc;
    }
    std::lock_guard g(f.group_mutex);
    f.group_set.reset();
    return 0;
}

// vfio_device_get_from_name() with vfio_pci_core_match(): the name, or the
// name, a space and options (a VF token, which ioasidd's devices refuse).
int GroupFiles::device_named(IommufdFile& f, uint64_t name_at, dispatch::UserMemory& mem,
                             std::string& address) {
    std::string name;
    if (int rc = read_name(mem, name_at, name)) return rc;
    std::lock_guard lock(topology_.mutex);
    const model::Group* g = topology_.topo.group(f.group);
    if (!g) return -ENODEV;
    for (const std::string& a : g->devices) {
        if (name == a) {
            address = a;
            return 0;
        }
        if (name.size() > a.size() && name.compare(0, a.size(), a) == 0 && name[a.size()] == ' ') {
            LOG_DEBUG("group %u: '%s': a VF token for a device that is not a PF or VF", f.group,
                      name.c_str());
            return refuse(-EINVAL, "GET_DEVICE_FD: a VF token for a device that is no PF or VF");
        }
    }
    LOG_DEBUG("group %u: GET_DEVICE_FD: no device '%s' in the group", f.group, name.c_str());
    return -ENODEV;
}

int GroupFiles::find_device(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem,
                            dispatch::Caller& caller) {
    ioasidd_group_device gd;
    if (mem.read(arg, &gd, sizeof(gd))) return -EFAULT;
    if (gd.argsz < sizeof(gd) || gd.flags)
        return refuse(-EINVAL, "GROUP_FIND_DEVICE: argsz short, or flags");
    std::string address, devname;
    if (int rc = device_named(f, gd.name, mem, address)) return rc;
    int rc = with_node_(address, [&](DeviceNode&, const std::string& name) {
        devname = name;
        return 0;
    });
    if (rc) return rc;
    if (devname.size() >= sizeof(gd.out_devname)) return -ENAMETOOLONG;
    {
        std::lock_guard lock(topology_.mutex);
        model::Group* g = topology_.topo.group(f.group);
        if (!g) return -ENODEV;
        g->expected_open = address;
        g->expected_tgid = caller.tgid ? caller.tgid() : 0;
    }
    std::memset(gd.out_devname, 0, sizeof(gd.out_devname));
    std::memcpy(gd.out_devname, devname.data(), devname.size());
    return mem.write(arg + offsetof(ioasidd_group_device, out_devname), gd.out_devname,
                     sizeof(gd.out_devname))
               ? -EFAULT
               : 0;
}

int GroupFiles::open_device(IommufdFile& f, uint64_t arg, dispatch::UserMemory& mem,
                            dispatch::Caller& caller) {
    ioasidd_group_device gd;
    if (mem.read(arg, &gd, sizeof(gd))) return -EFAULT;
    if (gd.argsz < sizeof(gd) || gd.flags)
        return refuse(-EINVAL, "GROUP_OPEN_DEVICE: argsz short, or flags");
    std::string address;
    if (int rc = device_named(f, gd.name, mem, address)) return rc;
    std::shared_ptr<IommufdFile> set;
    {
        std::lock_guard g(f.group_mutex);
        set = f.group_set;
    }
    if (!set) {
        LOG_DEBUG("group %u: GET_DEVICE_FD before SET_CONTAINER", f.group);
        return refuse(-EINVAL, "GET_DEVICE_FD: before SET_CONTAINER");
    }
    const uint32_t tgid = caller.tgid ? caller.tgid() : 0;
    const int rc = with_node_(address, [&](DeviceNode& node, const std::string&) {
        return node.open_through_group(gd.cookie, tgid, set);
    });
    if (rc)
        LOG_DEBUG("group %u: GET_DEVICE_FD of %s: %s", f.group, address.c_str(),
                  rc == -EINVAL  ? "the container's IOMMU is not set (SET_IOMMU)"
                  : rc == -EBADF ? "the cookie names no open of its node the group let in"
                                 : std::strerror(-rc));
    else
        LOG_INFO("group %u: %s opened through the group by pid %u", f.group, address.c_str(), tgid);
    return rc;
}

int GroupFiles::ioctl(IommufdFile& f, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                      dispatch::Caller& caller) {
    switch (cmd) {
        case IOASIDD_NODE_KIND:
            return IOASIDD_NODE_GROUP;
        case VFIO_GROUP_GET_STATUS:
            return status(f, arg, mem);
        case IOASIDD_GROUP_SET_CONTAINER:
            return set_container(f, arg, mem);
        case VFIO_GROUP_UNSET_CONTAINER:
            return unset_container(f);
        case IOASIDD_GROUP_FIND_DEVICE:
            return find_device(f, arg, mem, caller);
        case IOASIDD_GROUP_OPEN_DEVICE:
            return open_device(f, arg, mem, caller);
        case VFIO_GROUP_SET_CONTAINER:
        case VFIO_GROUP_GET_DEVICE_FD:
            LOG_DEBUG(
                "group %u: %s names an fd of the caller or returns one: the preload "
                "library carries it",
                f.group, cmd == VFIO_GROUP_SET_CONTAINER ? "SET_CONTAINER" : "GET_DEVICE_FD");
            return -ENOTTY;
        default:
            return -ENOTTY;
    }
}

dispatch::Footprint GroupFiles::footprint(IommufdFile&, uint32_t cmd, uint64_t arg,
                                          dispatch::UserMemory& known) {
    dispatch::Footprint fp;
    switch (cmd) {
        case VFIO_GROUP_GET_STATUS:
            fp.in.push_back({arg, sizeof(vfio_group_status)});
            fp.out.push_back({arg, sizeof(vfio_group_status)});
            break;
        case IOASIDD_GROUP_SET_CONTAINER:
            fp.in.push_back({arg, sizeof(uint64_t)});
            break;
        case IOASIDD_GROUP_FIND_DEVICE:
        case IOASIDD_GROUP_OPEN_DEVICE: {
            fp.in.push_back({arg, sizeof(ioasidd_group_device)});
            ioasidd_group_device gd;
            if (known.read(arg, &gd, sizeof(gd)) || gd.argsz < sizeof(gd) || gd.flags) break;
            name_footprint(known, gd.name, fp);
            if (cmd == IOASIDD_GROUP_FIND_DEVICE)
                fp.out.push_back(
                    {arg + offsetof(ioasidd_group_device, out_devname), sizeof(gd.out_devname)});
            break;
        }
        default:
            break;
    }
    return fp;
}

}  // namespace ioasid::daemon
