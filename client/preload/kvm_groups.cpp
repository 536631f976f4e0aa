#include "kvm_groups.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "ioasid/kvm_vfio.h"

namespace ioasid::preload {

namespace {

// One kernel file under two fd numbers: the daemon hands a fresh duplicate
// each time, and a legacy group's devices share its one file.
bool same_file(int a, int b) {
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev;
}

}  // namespace

int KvmGroups::group_added(int kvm_fd, int group_fd) {
    std::lock_guard lock(mutex_);
    for (const Added& a : added_)
        if (a.kvm_fd == kvm_fd && a.group_fd == group_fd) return -EEXIST;
    added_.push_back({kvm_fd, group_fd, {}});
    return 0;
}

int KvmGroups::group_deleted(int kvm_fd, int group_fd) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(added_.begin(), added_.end(), [&](const Added& a) {
        return a.kvm_fd == kvm_fd && a.group_fd == group_fd;
    });
    if (it == added_.end()) return -ENOENT;
    for (const host::UniqueFd& f : it->files)
        port_.kvm_file(kvm_fd, KVM_DEV_VFIO_FILE_DEL, f.get());
    added_.erase(it);
    return 0;
}

// A file KVM refuses is not kept: QEMU 7.2 itself only logs a group KVM
// refused, and the device works without it (KVM learns nothing of
// non-coherent DMA then).
void KvmGroups::device_opened(int group_fd, int device_fd) {
    std::lock_guard lock(mutex_);
    for (Added& a : added_) {
        if (a.group_fd != group_fd) continue;
        host::UniqueFd file;
        if (port_.real_file(device_fd, file) || !file) continue;
        const bool known =
            std::any_of(a.files.begin(), a.files.end(),
                        [&](const host::UniqueFd& f) { return same_file(f.get(), file.get()); });
        if (known || port_.kvm_file(a.kvm_fd, KVM_DEV_VFIO_FILE_ADD, file.get())) continue;
        a.files.push_back(std::move(file));
    }
}

void KvmGroups::group_closed(int group_fd) {
    std::lock_guard lock(mutex_);
    std::erase_if(added_, [&](const Added& a) { return a.group_fd == group_fd; });
}

size_t KvmGroups::files_held() const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const Added& a : added_) n += a.files.size();
    return n;
}

}  // namespace ioasid::preload
