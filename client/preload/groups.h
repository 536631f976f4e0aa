// The legacy VFIO group API for ioasidd's groups, as Debian 12's QEMU 7.2
// drives it: the fixed paths it opens (/dev/vfio/vfio, /dev/vfio/N) become
// opens of ioasidd's /dev/ioasid made a container or group
// (IOASIDD_VFIO_CONTAINER, IOASIDD_VFIO_GROUP), and the two group commands
// that name or return an fd are carried as ioasidd's own. A host group
// ioasidd does not serve goes to the kernel untouched.
#pragma once

namespace ioasid::preload {

// Whether `path` is one the group API opens (a cheap test, for every open).
inline bool is_vfio_path(const char* path) {
    return path && path[0] == '/' && __builtin_strncmp(path, "/dev/vfio/", 10) == 0;
}

// open() of /dev/vfio/N for a group ioasidd serves, or of /dev/vfio/vfio
// after the process last opened one of those: true with `fd` the open (or
// -1 and errno: the group's own refusal, EBUSY say); false to let libc open
// the path.
bool open_group_path(const char* path, int flags, int& fd);

// VFIO_GROUP_SET_CONTAINER on an ioasidd group: the container named by its
// cookie. -1 and errno on failure, as the kernel's.
int group_set_container(int group_fd, const void* arg);

// VFIO_GROUP_GET_DEVICE_FD on an ioasidd group: the device's node opened
// and made the group's device file. The new fd, or -1 and errno.
int group_get_device_fd(int group_fd, const void* name);

// VFIO_DEVICE_PCI_HOT_RESET with group fds on an ioasidd device: carried as
// IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS, each fd named by its group file's
// cookie. True with the result in `rc` (-1 and errno, as the kernel's);
// false to pass the call on as it is (no group fds: the cdev's form).
bool device_hot_reset(int device_fd, const void* arg, int& rc);

}  // namespace ioasid::preload
