#include "daemon/device_dirs.h"

#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/log.h"

namespace ioasid::daemon {

namespace fs = std::filesystem;

DeviceDirs::~DeviceDirs() {
    std::lock_guard lock(mutex_);
    for (const std::string& address : published_) remove_tree(address);
}

int DeviceDirs::publish(const std::string& address, const std::string& devname, dev_t devt,
                        uint32_t group) {
    const fs::path node(devname);
    const fs::path dev_dir = fs::path(root_) / address / "vfio-dev" / node.filename();
    std::error_code ec;
    std::lock_guard lock(mutex_);
    // A directory left by a daemon that was killed names an old node.
    fs::remove_all(fs::path(root_) / address, ec);
    fs::create_directories(dev_dir, ec);
    if (!ec) {
        std::ofstream dev(dev_dir / "dev");
        dev << major(devt) << ':' << minor(devt) << '\n';
        if (!dev.flush()) ec = std::make_error_code(std::errc::io_error);
    }
    if (!ec)
        fs::create_symlink("/sys/kernel/iommu_groups/" + std::to_string(group),
                           fs::path(root_) / address / "iommu_group", ec);
    if (ec) {
        LOG_WARN("%s: cannot publish %s: %s (the node still works when passed as an fd)",
                 address.c_str(), dev_dir.c_str(), ec.message().c_str());
        remove_tree(address);
        return -ec.value();
    }
    if (node.parent_path() != "vfio/devices")
        LOG_DEBUG("%s: %s names /dev/%s; QEMU's sysfsdev= opens /dev/vfio/devices/%s instead",
                  address.c_str(), dev_dir.c_str(), devname.c_str(), node.filename().c_str());
    published_.insert(address);
    return 0;
}

void DeviceDirs::withdraw(const std::string& address) {
    std::lock_guard lock(mutex_);
    if (published_.erase(address)) remove_tree(address);
}

void DeviceDirs::remove_tree(const std::string& address) {
    std::error_code ec;
    fs::remove_all(fs::path(root_) / address, ec);
}

}  // namespace ioasid::daemon
