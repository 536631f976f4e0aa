#include "host/vfio.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

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

int open_fd(const std::string& path, UniqueFd& out) {
    out.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    return out ? 0 : -errno;
}

}  // namespace

int VfioGroup::open(uint32_t group, const std::string& vfio_dir) {
    int rc = open_fd(vfio_dir + "/" + std::to_string(group), group_);
    if (rc) return rc;
    vfio_group_status status{sizeof(status), 0};
    if ((rc = call(group_.get(), VFIO_GROUP_GET_STATUS, &status)) < 0) return rc;
    if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) return -EPERM;
    if ((rc = open_fd(vfio_dir + "/vfio", container_))) return rc;
    if (call(container_.get(), VFIO_GET_API_VERSION, 0ul) != VFIO_API_VERSION) return -EINVAL;
    if (call(container_.get(), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) return -ENODEV;
    int cfd = container_.get();
    if ((rc = call(group_.get(), VFIO_GROUP_SET_CONTAINER, &cfd)) < 0) return rc;
    rc = call(container_.get(), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
    return rc < 0 ? rc : 0;
}

int VfioGroup::device_fd(const std::string& address, UniqueFd& out) {
    int fd = ::ioctl(group_.get(), VFIO_GROUP_GET_DEVICE_FD, address.c_str());
    if (fd < 0) return -errno;
    out.reset(fd);
    return 0;
}

int VfioGroup::iova_ranges(std::vector<model::IovaRange>& out, uint64_t& min_page) {
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

int VfioGroup::map_dma(uint64_t vaddr, uint64_t iova, uint64_t size, bool writable) {
    vfio_iommu_type1_dma_map m{sizeof(m), VFIO_DMA_MAP_FLAG_READ, vaddr, iova, size};
    if (writable) m.flags |= VFIO_DMA_MAP_FLAG_WRITE;
    int rc = call(container_.get(), VFIO_IOMMU_MAP_DMA, &m);
    return rc < 0 ? rc : 0;
}

int VfioGroup::unmap_dma(uint64_t iova, uint64_t size) {
    vfio_iommu_type1_dma_unmap u{sizeof(u), 0, iova, size};
    int rc = call(container_.get(), VFIO_IOMMU_UNMAP_DMA, &u);
    return rc < 0 ? rc : 0;
}

int vfio_device_call(int device_fd, unsigned long cmd, void* arg) {
    return call(device_fd, cmd, arg);
}

int vfio_device_call(int device_fd, unsigned long cmd) {
    return call(device_fd, cmd, 0ul);
}

}  // namespace ioasid::host
