/* The program of the guest QEMU boots (the guest lane): it finds the edu in
 * the guest's PCI tree and drives it the way a guest userspace driver
 * does, through the guest kernel's vfio-pci behind the guest's own IOMMU
 * (QEMU's intel-iommu; Debian's kernel has no VFIO no-IOMMU mode): its ID,
 * liveness and a factorial in BAR0, a DMA from a buffer it maps at an IOVA
 * to the device and back, and an MSI. The same transcript is
 * expected from QEMU's built-in edu and from ioasidd's.
 * Static, for an initramfs with nothing else but busybox. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int device;
static uint64_t bar0, config;

static void fail(const char* what) {
    printf("error: %s: %s\n", what, strerror(errno));
    exit(1);
}

static unsigned read_hex(const char* dir, const char* file) {
    char path[512], buf[32] = {0};
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE* f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof(buf), f)) return 0;
    fclose(f);
    return (unsigned)strtoul(buf, NULL, 16);
}

/* The first edu (1234:11e8) in the PCI tree; its address in `addr`. */
static int find_edu(char* addr, size_t len) {
    DIR* d = opendir("/sys/bus/pci/devices");
    struct dirent* e;
    while (d && (e = readdir(d))) {
        char dir[300];
        snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", e->d_name);
        if (read_hex(dir, "vendor") == 0x1234 && read_hex(dir, "device") == 0x11e8) {
            snprintf(addr, len, "%.63s", e->d_name);
            printf("pci.edu: %s class 0x%06x\n", e->d_name, read_hex(dir, "class"));
            closedir(d);
            return 0;
        }
    }
    return -1;
}

static uint32_t rd32(uint64_t off) {
    uint32_t v = 0;
    if (pread(device, &v, 4, (off_t)(bar0 + off)) != 4) fail("BAR0 read");
    return v;
}

static void wr64(uint64_t off, uint64_t v) {
    if (pwrite(device, &v, 8, (off_t)(bar0 + off)) != 8) fail("BAR0 write");
}

static void wr32(uint64_t off, uint32_t v) {
    if (pwrite(device, &v, 4, (off_t)(bar0 + off)) != 4) fail("BAR0 write");
}

/* Polls BAR0 at `off` until `bit` clears, at most ~20 s. */
static int wait_clear(uint64_t off, uint32_t bit) {
    for (int i = 0; i < 20000; ++i) {
        if (!(rd32(off) & bit)) return 1;
        usleep(1000);
    }
    return 0;
}

static int container;
#define IOVA 0x100000ull /* the edu's DMA addresses have 28 bits */

static void open_device(const char* addr) {
    char path[300], link[300];
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) fail("iommu_group");
    link[n] = 0;
    snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
    /* devtmpfs makes the group's node as vfio-pci binds; give it time. */
    int group = -1;
    for (int i = 0; i < 200 && group < 0; ++i, usleep(10000)) group = open(path, O_RDWR);
    container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0 || group < 0) fail(path);
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container)) fail("SET_CONTAINER");
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) fail("SET_IOMMU");
    device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, addr);
    if (device < 0) fail("GET_DEVICE_FD");
    struct vfio_region_info r = {.argsz = sizeof(r), .index = VFIO_PCI_BAR0_REGION_INDEX};
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &r)) fail("BAR0 info");
    bar0 = r.offset;
    printf("vfio.bar0: size 0x%llx\n", (unsigned long long)r.size);
    r.index = VFIO_PCI_CONFIG_REGION_INDEX;
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &r)) fail("config info");
    config = r.offset;
    uint16_t cmd = 0;
    if (pread(device, &cmd, 2, (off_t)(config + 4)) != 2) fail("command");
    cmd |= 0x6; /* memory, bus master */
    if (pwrite(device, &cmd, 2, (off_t)(config + 4)) != 2) fail("command");
}

static void registers(void) {
    printf("bar0.id: 0x%08x\n", rd32(0));
    wr32(4, 0x12345678);
    printf("bar0.liveness: 0x%08x\n", rd32(4));
    wr32(8, 10);
    const char* state = wait_clear(0x20, 1) ? "done" : "timeout";
    printf("bar0.factorial(10): %s %u\n", state, rd32(8));
}

static void dma(void) {
    uint8_t* buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) fail("buffer");
    struct vfio_iommu_type1_dma_map map = {.argsz = sizeof(map),
                                           .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                           .vaddr = (uintptr_t)buf, .iova = IOVA, .size = 8192};
    if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) fail("MAP_DMA");
    for (int i = 0; i < 2048; ++i) buf[i] = (uint8_t)(i * 7 + 3);
    memset(buf + 4096, 0, 2048);
    wr64(0x80, IOVA);
    wr64(0x88, 0x40000);
    wr64(0x90, 2048);
    wr64(0x98, 1);
    printf("dma.ram-to-device: %s\n", wait_clear(0x98, 1) ? "done" : "timeout");
    wr64(0x80, 0x40000);
    wr64(0x88, IOVA + 4096);
    wr64(0x90, 2048);
    wr64(0x98, 3);
    printf("dma.device-to-ram: %s\n", wait_clear(0x98, 1) ? "done" : "timeout");
    if (memcmp(buf, buf + 4096, 2048)) {
        int first = 0;
        while (buf[first] == buf[4096 + first]) ++first;
        printf("dma.bytes: differ from byte %d: 0x%02x, wrote 0x%02x\n", first, buf[4096 + first],
               buf[first]);
    } else {
        printf("dma.bytes: equal\n");
    }
}

static void msi(void) {
    int efd = eventfd(0, 0);
    char raw[sizeof(struct vfio_irq_set) + 4];
    struct vfio_irq_set* s = (struct vfio_irq_set*)raw;
    *s = (struct vfio_irq_set){.argsz = sizeof(raw),
                               .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                               .index = VFIO_PCI_MSI_IRQ_INDEX, .count = 1};
    memcpy(s->data, &efd, 4);
    if (ioctl(device, VFIO_DEVICE_SET_IRQS, s)) fail("SET_IRQS MSI");
    wr32(0x60, 0x1);
    struct pollfd p = {efd, POLLIN, 0};
    uint64_t count = 0;
    if (poll(&p, 1, 20000) == 1 && read(efd, &count, 8) == 8)
        printf("irq.msi: %llu, status 0x%x\n", (unsigned long long)count, rd32(0x24));
    else
        printf("irq.msi: none\n");
    wr32(0x64, 0x1);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char addr[64];
    if (find_edu(addr, sizeof(addr))) {
        printf("error: no edu in the PCI tree\n");
        return 1;
    }
    int fd = open("/sys/bus/pci/drivers/vfio-pci/new_id", O_WRONLY);
    if (fd < 0 || write(fd, "1234 11e8", 9) != 9) fail("vfio-pci new_id");
    close(fd);
    open_device(addr);
    registers();
    dma();
    msi();
    printf("guest-edu: done\n");
    return 0;
}
