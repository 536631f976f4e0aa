/*
 * vfio-reset: PCI hot reset and ioeventfds of real edu devices, as a VMM
 * holding cdev-opened devices uses them. The same transcript comes from the
 * kernel's /dev/iommu with its VFIO cdevs and from ioasidd forwarding the
 * devices through the legacy API.
 *
 *   vfio-reset IOMMUFD PORT A B   the edu behind a root port (its own
 *                                 slot), and two edus behind one PCI
 *                                 bridge (one group, one bus reset)
 *   vfio-reset IOMMUFD - A        A again, with B off vfio-pci
 *   vfio-reset IOMMUFD --ioeventfd DEVICE
 *                                 ioeventfds alone (any edu, emulated too)
 */
#include <poll.h>
#include <sys/eventfd.h>

#include "edu.h"

/* Prints GET_PCI_HOT_RESET_INFO's answer with room for `room` devices. */
static void hot_reset_info(int dev, uint32_t room, const char* step) {
    uint8_t
        buf[sizeof(struct vfio_pci_hot_reset_info) + 8 * sizeof(struct vfio_pci_dependent_device)];
    struct vfio_pci_hot_reset_info* info = (void*)buf;
    int rc = hot_reset_info_call(dev, room, info);
    printf("%s: GET_PCI_HOT_RESET_INFO -> %s count=%u flags=0x%x", step, err_name(rc), info->count,
           info->flags);
    for (uint32_t i = 0; !rc && i < info->count && i < room; i++) {
        const struct vfio_pci_dependent_device* d = &info->devices[i];
        printf(" [devid=%d %04x:%02x:%02x.%x]", (int32_t)d->devid, d->segment, d->bus,
               d->devfn >> 3, d->devfn & 7);
    }
    printf("\n");
}

static void hot_reset(int dev, uint32_t argsz, uint32_t flags, uint32_t count, const char* step) {
    int32_t words[5] = {(int32_t)argsz, (int32_t)flags, (int32_t)count, dev, dev};
    printf("%s: PCI_HOT_RESET -> %s\n", step,
           err_name(call(dev, VFIO_DEVICE_PCI_HOT_RESET, words)));
}

static int ioeventfd(int dev, uint32_t flags, uint64_t reg, uint64_t data, int32_t fd) {
    struct vfio_device_ioeventfd e = {
        .argsz = sizeof(e), .flags = flags, .offset = BAR0 + reg, .data = data, .fd = fd};
    return call(dev, VFIO_DEVICE_IOEVENTFD, &e);
}

/* edu's liveness register (0x04) reads back the inverse of what was last
 * written: the ioeventfd's write shows there. */
static void ioeventfds(int dev, int other_fd) {
    int e = eventfd(0, EFD_CLOEXEC);
    if (e < 0) die("eventfd", 0);
    const uint32_t w4 = VFIO_DEVICE_IOEVENTFD_32;
    printf("ioeventfd.no-size: %s\n", err_name(ioeventfd(dev, 0, 4, 1, e)));
    printf("ioeventfd.two-sizes: %s\n", err_name(ioeventfd(dev, 0x3, 4, 1, e)));
    printf("ioeventfd.fd-below-minus-one: %s\n", err_name(ioeventfd(dev, w4, 4, 1, -2)));
    printf("ioeventfd.past-bar: %s\n", err_name(ioeventfd(dev, w4, 1 << 20, 1, e)));
    printf("ioeventfd.not-an-eventfd: %s\n", err_name(ioeventfd(dev, w4, 4, 1, other_fd)));
    printf("ioeventfd.no-such-fd: %s\n", err_name(ioeventfd(dev, w4, 4, 1, 987)));
    printf("ioeventfd.remove-none: %s\n", err_name(ioeventfd(dev, w4, 4, 0x12345678, -1)));
    printf("ioeventfd.add: %s\n", err_name(ioeventfd(dev, w4, 4, 0x12345678, e)));
    printf("ioeventfd.add-again: %s\n", err_name(ioeventfd(dev, w4, 4, 0x12345678, e)));
    bar_write(dev, 4, 0, 4);
    uint64_t one = 1;
    if (write(e, &one, 8) != 8) die("eventfd write", 0);
    uint32_t v = 0;
    for (int i = 0; i < 1000 && (v = (uint32_t)bar_read(dev, 4, 4)) != 0xedcba987u; i++)
        usleep(5000);
    printf("ioeventfd.signalled: liveness=0x%x\n", v);
    printf("ioeventfd.remove: %s\n", err_name(ioeventfd(dev, w4, 4, 0x12345678, -1)));
    bar_write(dev, 4, 0, 4);
    if (write(e, &one, 8) != 8) die("eventfd write", 0);
    usleep(100000);
    printf("ioeventfd.signalled-after-remove: liveness=0x%x\n", (uint32_t)bar_read(dev, 4, 4));
    close(e);
}

static uint32_t bind_attach(int iommufd, int dev, const char* step) {
    uint32_t devid = 0;
    int rc = bind_device(dev, iommufd, &devid);
    printf("%s: BIND -> %s devid=%u\n", step, err_name(rc), devid);
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (call(iommufd, IOMMU_IOAS_ALLOC, &a)) die("IOAS_ALLOC", 0);
    uint32_t pt = a.out_ioas_id;
    printf("%s: ATTACH -> %s\n", step, err_name(attach_device(dev, &pt)));
    return devid;
}

/* The edu alone in its slot: the reset's arguments, then the reset. */
static void port(const char* iommufd_path, const char* path) {
    int iommufd = open_node(iommufd_path), dev = open_node(path);
    hot_reset_info(dev, 1, "port.unbound");
    bind_attach(iommufd, dev, "port");
    hot_reset_info(dev, 0, "port.no-room");
    hot_reset_info(dev, 1, "port");
    hot_reset(dev, 8, 0, 0, "port.short");
    hot_reset(dev, sizeof(struct vfio_pci_hot_reset), 1, 0, "port.flags");
    hot_reset(dev, sizeof(struct vfio_pci_hot_reset) + 4, 0, 1, "port.group-fds");
    hot_reset(dev, sizeof(struct vfio_pci_hot_reset), 0, 0, "port");
    ioeventfds(dev, iommufd);
    close(dev);
    close(iommufd);
}

/* Two edus of one group behind one bridge: a bus reset takes both. */
static void bridge(const char* iommufd_path, const char* a_path, const char* b_path) {
    int iommufd = open_node(iommufd_path), a = open_node(a_path);
    bind_attach(iommufd, a, "bridge.a");
    hot_reset_info(a, 2, "bridge.a");
    hot_reset(a, sizeof(struct vfio_pci_hot_reset), 0, 0, "bridge.a");
    if (b_path) {
        int b = open_node(b_path);
        bind_attach(iommufd, b, "bridge.b");
        hot_reset_info(a, 2, "bridge.both");
        hot_reset(b, sizeof(struct vfio_pci_hot_reset), 0, 0, "bridge.b");
        close(b);
        /* Another context owns nothing of the group: its open of A is
         * refused at BIND, so the reset cannot come from it. */
        int other = open_node(iommufd_path), a2 = open_node(a_path);
        printf("bridge.other: BIND -> %s\n", err_name(bind_device(a2, other, NULL)));
        close(a2);
        close(other);
    } else {
        hot_reset_info(a, 2, "bridge.b-off-vfio");
        hot_reset(a, sizeof(struct vfio_pci_hot_reset), 0, 0, "bridge.b-off-vfio");
    }
    close(a);
    close(iommufd);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: vfio-reset IOMMUFD PORT|- A [B]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[2], "--ioeventfd") == 0) {
        int iommufd = open_node(argv[1]), dev = open_node(argv[3]);
        bind_attach(iommufd, dev, "ioeventfd");
        ioeventfds(dev, iommufd);
        return 0;
    }
    if (strcmp(argv[2], "-") != 0) port(argv[1], argv[2]);
    bridge(argv[1], argv[3], argc > 4 ? argv[4] : NULL);
    return 0;
}
