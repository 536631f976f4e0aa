#include "host/vfio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>

#include <cerrno>
#include <cstring>

#include "host/sysfs.h"
#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"

namespace ioasid::host {

namespace {

int call(int fd, unsigned long cmd, void* arg) {
    int rc = ::ioctl(fd, cmd, arg);
    return rc < 0 ? -errno : rc;
}

int call(int fd, unsigned long cmd, unsigned long arg) {
    int rc = ::ioctl(fd, cmd, arg);
    return rc < 0 ? -errno : rc;
}

// Whether the node at `path` is the kernel's own character device that
// `dev_file` (its sysfs "dev") names: 0, -ENODEV when it is something else
// (ioasidd's own CUSE node under an upstream name, above all: opening it
// from the daemon would wait on the daemon), or the stat's -errno. Looked
// at with stat, which never reaches the node's driver.
int kernel_node(const std::string& path, const std::string& dev_file, dev_t& want) {
    struct stat st;
    if (!read_devnum(dev_file, want)) return -ENODEV;
    if (::stat(path.c_str(), &st)) return -errno;
    return S_ISCHR(st.st_mode) && st.st_rdev == want ? 0 : -ENODEV;
}

// Opens the kernel's own character device `dev_file` names, at `path`, and
// nothing else of that name; the open file is checked again, as it cannot
// be swapped.
int open_kernel_node(const std::string& path, const std::string& dev_file, UniqueFd& out) {
    dev_t want;
    struct stat st;
    if (int rc = kernel_node(path, dev_file, want)) return rc;
    out.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!out) return -errno;
    if (::fstat(out.get(), &st) || !S_ISCHR(st.st_mode) || st.st_rdev != want) {
        out.reset();
        return -ENODEV;
    }
    return 0;
}

// The nodes of the kernel's VFIO and iommufd, each with the sysfs entry
// that proves it is the kernel's.
constexpr const char* kIommufd = "/dev/iommu";
constexpr const char* kIommufdDev = "/sys/class/misc/iommu/dev";
constexpr const char* kContainer = "/dev/vfio/vfio";
constexpr const char* kContainerDev = "/sys/class/misc/vfio/dev";

}  // namespace

int LegacyGroup::open(uint32_t group) {
    const std::string id = std::to_string(group);
    int rc = open_kernel_node("/dev/vfio/" + id, "/sys/class/vfio/" + id + "/dev", group_);
    if (rc) return rc;
    vfio_group_status status{sizeof(status), 0};
    if ((rc = call(group_.get(), VFIO_GROUP_GET_STATUS, &status)) < 0) return rc;
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) return -EPERM;
    if ((rc = open_kernel_node(kContainer, kContainerDev, container_))) return rc;
    if (call(container_.get(), VFIO_GET_API_VERSION, 0ul) != VFIO_API_VERSION) return -EINVAL;
    if (call(container_.get(), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) return -ENODEV;
    int cfd = container_.get();
    if ((rc = call(group_.get(), VFIO_GROUP_SET_CONTAINER, &cfd)) < 0) return rc;
    rc = call(container_.get(), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
    return rc < 0 ? rc : 0;
}

int LegacyGroup::device_fd(const std::string& address, UniqueFd& out) {
    int fd = ::ioctl(group_.get(), VFIO_GROUP_GET_DEVICE_FD, address.c_str());
    if (fd < 0) return -errno;
    out.reset(fd);
    return 0;
}

int LegacyGroup::iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) {
    // The size first, then the info with its capability chain.
    vfio_iommu_type1_info head{sizeof(head), 0, 0, 0, 0};
    int rc = call(container_.get(), VFIO_IOMMU_GET_INFO, &head);
    if (rc < 0) return rc;
    std::vector<uint8_t> buf(std::max<size_t>(head.argsz, sizeof(head)));
    auto* info = reinterpret_cast<vfio_iommu_type1_info*>(buf.data());
    info->argsz = static_cast<uint32_t>(buf.size());
    if ((rc = call(container_.get(), VFIO_IOMMU_GET_INFO, info)) < 0) return rc;
    min_page = info->iova_pgsizes & -info->iova_pgsizes;
    out.clear();
    for (uint32_t off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;
         off && off + sizeof(vfio_info_cap_header) <= buf.size();) {
        vfio_info_cap_header cap;
        std::memcpy(&cap, buf.data() + off, sizeof(cap));
        if (cap.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            vfio_iommu_type1_info_cap_iova_range r;
            std::memcpy(&r, buf.data() + off, sizeof(r));
            for (uint32_t i = 0; i < r.nr_iovas; ++i) {
                vfio_iova_range range;
                size_t at = off + sizeof(r) + i * sizeof(range);
                if (at + sizeof(range) > buf.size()) break;
                std::memcpy(&range, buf.data() + at, sizeof(range));
                out.push_back({range.start, range.end});
            }
        }
        off = cap.next;
    }
    return 0;
}

int LegacyGroup::map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) {
    vfio_iommu_type1_dma_map m{sizeof(m), VFIO_DMA_MAP_FLAG_READ, vaddr, iova, size};
    if (writable) m.flags |= VFIO_DMA_MAP_FLAG_WRITE;
    int rc = call(container_.get(), VFIO_IOMMU_MAP_DMA, &m);
    return rc < 0 ? rc : 0;
}

int LegacyGroup::unmap_dma(uint64_t iova, uint64_t size) {
    vfio_iommu_type1_dma_unmap u{sizeof(u), 0, iova, size};
    int rc = call(container_.get(), VFIO_IOMMU_UNMAP_DMA, &u);
    return rc < 0 ? rc : 0;
}

int LegacyGroup::hot_reset(int device_fd, const std::vector<const VfioGroup*>& affected) const {
    std::vector<int32_t> words(3 + affected.size());
    for (size_t i = 0; i < affected.size(); i++) {
        const auto* legacy = dynamic_cast<const LegacyGroup*>(affected[i]);
        if (!legacy) return -EINVAL;  // a group this API holds no fd of
        words[3 + i] = legacy->group_.get();
    }
    vfio_pci_hot_reset hdr;
    hdr.argsz = static_cast<uint32_t>(words.size() * 4);
    hdr.flags = 0;
    hdr.count = static_cast<uint32_t>(affected.size());
    std::memcpy(words.data(), &hdr, sizeof(hdr));
    int rc = call(device_fd, VFIO_DEVICE_PCI_HOT_RESET, words.data());
    return rc < 0 ? rc : 0;
}

// The device's cdev under /dev/vfio/devices and its sysfs "dev" file. On
// 6.1 vfio-dev/vfioN exists without a cdev: no "dev" file there.
int cdev_path(const std::string& address, std::string& node, std::string& dev_file) {
    std::error_code ec;
    const std::string dir = "/sys/bus/pci/devices/" + address + "/vfio-dev";
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        dev_file = e.path().string() + "/dev";
        if (::access(dev_file.c_str(), R_OK)) continue;
        node = "/dev/vfio/devices/" + e.path().filename().string();
        return 0;
    }
    return -ENODEV;
}

// Whether the kernel serves the device through its own iommufd and VFIO
// cdev: both nodes exist and are the kernel's (not ioasidd's CUSE nodes
// under the upstream names).
bool kernel_has_cdev(const std::string& address) {
    std::string node, dev_file;
    dev_t devnum;
    return !cdev_path(address, node, dev_file) && !kernel_node(kIommufd, kIommufdDev, devnum) &&
           !kernel_node(node, dev_file, devnum);
}

namespace {

// The /dev/iommu one owner's groups share, open while any of them is. Never
// one for two owners: a real device file the VMM channel hands out can
// attach to any IOAS of its /dev/iommu, and hot reset any device bound to it.
int shared_iommufd(const void* owner, std::shared_ptr<const UniqueFd>& out) {
    static std::mutex mutex;
    static std::map<const void*, std::weak_ptr<const UniqueFd>> shared;
    std::lock_guard lock(mutex);
    std::erase_if(shared, [](const auto& kv) { return kv.second.expired(); });
    if ((out = shared[owner].lock())) return 0;
    UniqueFd fd;
    if (int rc = open_kernel_node(kIommufd, kIommufdDev, fd)) return rc;
    out = std::make_shared<const UniqueFd>(std::move(fd));
    shared[owner] = out;
    return 0;
}

}  // namespace

int CdevGroup::open(uint32_t) {
    int rc = shared_iommufd(owner_, iommufd_);
    if (rc) return rc;
    iommu_ioas_alloc a{sizeof(a), 0, 0};
    if ((rc = call(iommufd_->get(), IOMMU_IOAS_ALLOC, &a)) < 0) return rc;
    ioas_ = a.out_ioas_id;
    return 0;
}

// The devices were closed first (their fds go before the group), so the
// IOAS is no HWPT's any more; destroying it unmaps what it held.
CdevGroup::~CdevGroup() {
    if (!ioas_) return;
    iommu_destroy d{sizeof(d), ioas_};
    call(iommufd_->get(), IOMMU_DESTROY, &d);
}

int CdevGroup::hot_reset(int device_fd, const std::vector<const VfioGroup*>&) const {
    vfio_pci_hot_reset hdr;
    hdr.argsz = sizeof(hdr);
    hdr.flags = hdr.count = 0;
    int rc = call(device_fd, VFIO_DEVICE_PCI_HOT_RESET, &hdr);
    return rc < 0 ? rc : 0;
}

int CdevGroup::device_fd(const std::string& address, UniqueFd& out) {
    std::string path, dev_file;
    int rc = cdev_path(address, path, dev_file);
    if (rc || (rc = open_kernel_node(path, dev_file, out))) return rc;
    vfio_device_bind_iommufd bind{sizeof(bind), 0, iommufd_->get(), 0};
    if ((rc = call(out.get(), VFIO_DEVICE_BIND_IOMMUFD, &bind)) < 0) return rc;
    vfio_device_attach_iommufd_pt at{sizeof(at), 0, ioas_};
    rc = call(out.get(), VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
    return rc < 0 ? rc : 0;
}

int CdevGroup::iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) {
    iommu_iova_range r[16];
    iommu_ioas_iova_ranges q{sizeof(q), ioas_, 16, 0, reinterpret_cast<uint64_t>(r), 0};
    int rc = call(iommufd_->get(), IOMMU_IOAS_IOVA_RANGES, &q);
    if (rc < 0) return rc;
    out.clear();
    for (uint32_t i = 0; i < q.num_iovas && i < 16; ++i) out.push_back({r[i].start, r[i].last});
    min_page = q.out_iova_alignment;
    return 0;
}

int CdevGroup::map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) {
    uint32_t flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE;
    if (writable) flags |= IOMMU_IOAS_MAP_WRITEABLE;
    iommu_ioas_map m{sizeof(m), flags, ioas_, 0, vaddr, size, iova};
    int rc = call(iommufd_->get(), IOMMU_IOAS_MAP, &m);
    return rc < 0 ? rc : 0;
}

int CdevGroup::unmap_dma(uint64_t iova, uint64_t size) {
    iommu_ioas_unmap u{sizeof(u), ioas_, iova, size};
    int rc = call(iommufd_->get(), IOMMU_IOAS_UNMAP, &u);
    return rc < 0 ? rc : 0;
}

std::unique_ptr<VfioGroup> make_vfio_group(VfioApi api, const std::string& address,
                                           const void* owner) {
    if (api == VfioApi::Auto) api = kernel_has_cdev(address) ? VfioApi::Cdev : VfioApi::Legacy;
    if (api == VfioApi::Cdev) return std::make_unique<CdevGroup>(owner);
    return std::make_unique<LegacyGroup>();
}

int vfio_device_call(int device_fd, unsigned long cmd, void* arg) {
    return call(device_fd, cmd, arg);
}

int vfio_device_call(int device_fd, unsigned long cmd) {
    return call(device_fd, cmd, 0ul);
}

}  // namespace ioasid::host
