/*
 * vfio-group-reset: PCI hot reset of real edus opened through their groups,
 * as QEMU 7.2 resets them: GET_PCI_HOT_RESET_INFO names the devices a reset
 * takes along by group, and PCI_HOT_RESET proves ownership with group fds.
 * The same program runs against the kernel's /dev/vfio/N and through
 * libioasid-preload.so against ioasidd's groups of the forwarded edus
 * (ioasid-run), so the transcripts compare: groups print as names.
 *
 *   vfio-group-reset PORT A B   sysfs directories (/sys/bus/pci/devices/X,
 *                               /run/ioasidd/devices/X): an edu alone in
 *                               its slot, and two of one group behind a
 *                               PCI bridge
 *   vfio-group-reset - A        the bridge again, with B off vfio-pci
 */
#include <libgen.h>
#include <limits.h>
#include <sys/mman.h>

#include "vfio_common.h"

static int port_group = -1, bridge_group = -1;

static const char* group_name(int id) {
    return id == port_group ? "port" : id == bridge_group ? "bridge" : "other";
}

static int open_group(const char* dir) {
    char path[64];
    snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(dir));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open group", (unsigned long long)errno);
    return fd;
}

/* The device of `dir` through its group, in container `c`. */
static int group_device(int group, int c, const char* dir, int set_iommu) {
    if (call(group, VFIO_GROUP_SET_CONTAINER, &c)) die("SET_CONTAINER", 0);
    if (set_iommu && call(c, VFIO_SET_IOMMU, (void*)VFIO_TYPE1v2_IOMMU)) die("SET_IOMMU", 0);
    char* copy = strdup(dir);
    int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, basename(copy));
    free(copy);
    if (dev < 0) die("GET_DEVICE_FD", (unsigned long long)errno);
    return dev;
}

static void hot_reset_info(int dev, uint32_t room, const char* step) {
    uint8_t
        buf[sizeof(struct vfio_pci_hot_reset_info) + 8 * sizeof(struct vfio_pci_dependent_device)];
    struct vfio_pci_hot_reset_info* info = (void*)buf;
    int rc = hot_reset_info_call(dev, room, info);
    printf("%s: GET_PCI_HOT_RESET_INFO -> %s count=%u flags=0x%x", step, err_name(rc), info->count,
           info->flags);
    for (uint32_t i = 0; !rc && i < info->count && i < room; i++) {
        const struct vfio_pci_dependent_device* d = &info->devices[i];
        printf(" [group=%s %04x:%02x:%02x.%x]", group_name((int)d->group_id), d->segment, d->bus,
               d->devfn >> 3, d->devfn & 7);
    }
    printf("\n");
}

/* PCI_HOT_RESET with `n` group fds (count given apart: it may lie). */
static void hot_reset(int dev, uint32_t flags, uint32_t count, const int32_t* fds, uint32_t n,
                      const char* step) {
    int32_t words[3 + 4] = {(int32_t)(12 + 4 * n), (int32_t)flags, (int32_t)count};
    memcpy(words + 3, fds, 4 * n);
    printf("%s: PCI_HOT_RESET -> %s\n", step,
           err_name(call(dev, VFIO_DEVICE_PCI_HOT_RESET, words)));
}

/* The edu alone in its slot: every refusal of the group form, then the
 * reset. Its group stays in the container, for the bridge's resets. */
static int port(int group, int c, const char* dir) {
    int dev = group_device(group, c, dir, 1);
    hot_reset_info(dev, 0, "port.no-room");
    hot_reset_info(dev, 1, "port");
    const int32_t own[] = {group}, bad[] = {987}, container[] = {c}, device[] = {dev},
                  two[] = {group, group};
    hot_reset(dev, 0, 0, NULL, 0, "port.no-groups");
    hot_reset(dev, 1, 1, own, 1, "port.flags");
    hot_reset(dev, 0, 2, two, 2, "port.more-fds-than-devices");
    hot_reset(dev, 0, 1, bad, 1, "port.no-such-fd");
    hot_reset(dev, 0, 1, container, 1, "port.container-fd");
    hot_reset(dev, 0, 1, device, 1, "port.device-fd");
    hot_reset(dev, 0, 1, own, 1, "port");
    /* The array is copied only after the count is checked. */
    struct vfio_pci_hot_reset hdr = {.argsz = 16, .flags = 0, .count = 1};
    uint8_t* page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    memcpy(page + 4096 - 12, &hdr, 12);
    printf("port.fds-unreadable: PCI_HOT_RESET -> %s\n",
           err_name(call(dev, VFIO_DEVICE_PCI_HOT_RESET, page + 4096 - 12)));
    hdr.count = 2;
    memcpy(page + 4096 - 12, &hdr, 12);
    printf("port.fds-unreadable-too-many: PCI_HOT_RESET -> %s\n",
           err_name(call(dev, VFIO_DEVICE_PCI_HOT_RESET, page + 4096 - 12)));
    munmap(page, 4096);
    close(dev);
    return group;
}

/* Two edus of one group behind one bridge: the group's fd resets both. */
static void bridge(int group, int c, int port_fd, const char* a_dir, int b_on_vfio) {
    int dev = group_device(group, c, a_dir, port_fd < 0);
    hot_reset_info(dev, 2, b_on_vfio ? "bridge" : "bridge.b-off-vfio");
    const int32_t own[] = {group}, other[] = {port_fd}, both[] = {port_fd, group};
    if (port_fd >= 0) {
        hot_reset(dev, 0, 1, other, 1, "bridge.other-group");
        hot_reset(dev, 0, 2, both, 2, "bridge.both-groups");
    }
    hot_reset(dev, 0, 1, own, 1, b_on_vfio ? "bridge" : "bridge.b-off-vfio");
    close(dev);
    close(group);
}

int main(int argc, char** argv) {
    const int alone = argc == 3 && strcmp(argv[1], "-") == 0;
    if (argc != 4 && !alone) {
        fprintf(stderr, "usage: vfio-group-reset PORT A B | - A\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bridge_group = group_of(argv[2]);
    if (!alone && group_of(argv[3]) != bridge_group) die("A and B are not in one group", 0);
    /* As QEMU 7.2: a group first, then the container for it. */
    if (!alone) port_group = group_of(argv[1]);
    int first = open_group(alone ? argv[2] : argv[1]);
    int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    if (c < 0) die("open /dev/vfio/vfio", (unsigned long long)errno);
    int port_fd = -1;
    if (!alone) port_fd = port(first, c, argv[1]);
    bridge(alone ? first : open_group(argv[2]), c, port_fd, argv[2], !alone);
    if (port_fd >= 0) close(port_fd);
    close(c);
    return 0;
}
