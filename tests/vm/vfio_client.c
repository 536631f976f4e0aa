/*
 * vfio-client: drives an edu device the way a VMM does, through the device
 * cdev ABI: open the device, bind it to an iommufd, attach it to an IOAS,
 * map a buffer, program the edu's DMA through the BAR, wait for its MSI on
 * an eventfd and check the bytes. Run against the kernel (/dev/iommu and
 * the real QEMU edu bound to vfio-pci) and against ioasidd (/dev/ioasid and
 * its emulated edu), the transcripts must be identical, except lines
 * starting with "~" that describe the IOMMU hardware.
 *
 *   vfio-client IOMMUFD DEVICE
 *
 * Region access goes through libioasid (pread/pwrite on the kernel's node,
 * IOASIDD_REGION_RW on ioasidd's).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "edu.h"
#include "ioasid/iommufd.h"
#include "ioasid/libioasid.h"
#include "ioasid/vfio.h"
#include "vfio_common.h"

#define BUF_IOVA 0x100000ull /* below the edu's 28-bit DMA mask */

static void region_info(int dev, uint32_t index) {
    struct vfio_region_info r = {.argsz = sizeof(r), .index = index};
    int rc = call(dev, VFIO_DEVICE_GET_REGION_INFO, &r);
    printf("region.%u: GET_REGION_INFO -> %s flags=0x%x size=0x%llx offset=0x%llx\n", index,
           err_name(rc), r.flags, U(r.size), U(r.offset));
}

static void irq_info(int dev, uint32_t index) {
    struct vfio_irq_info r = {.argsz = sizeof(r), .index = index};
    int rc = call(dev, VFIO_DEVICE_GET_IRQ_INFO, &r);
    printf("irq.%u: GET_IRQ_INFO -> %s flags=0x%x count=%u\n", index, err_name(rc), r.flags,
           r.count);
}

static void before_bind(int dev, int iommufd) {
    struct vfio_device_info info = {.argsz = sizeof(info)};
    printf("prebind.info: GET_INFO -> %s\n", err_name(call(dev, VFIO_DEVICE_GET_INFO, &info)));
    struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = 1};
    printf("prebind.attach: ATTACH -> %s\n",
           err_name(call(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)));
    printf("prebind.bind-badfd: BIND -> %s\n", err_name(bind_device(dev, 999, NULL)));
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    printf("prebind.bind-notiommufd: BIND -> %s\n", err_name(bind_device(dev, null, NULL)));
    close(null);
    struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .flags = 1, .iommufd = iommufd};
    printf("prebind.bind-flags: BIND -> %s\n", err_name(call(dev, VFIO_DEVICE_BIND_IOMMUFD, &b)));
}

/* GET_INFO with argsz 0xffffffff, its struct the last bytes before a
 * read-only page: the kernel reads its minsz and writes its struct only. */
static void info_huge_argsz(int dev) {
    uint8_t* pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED || mprotect(pages + 4096, 4096, PROT_READ)) die("mmap", 0);
    struct vfio_device_info* info = (void*)(pages + 4096 - sizeof(*info));
    memset(info, 0, sizeof(*info));
    info->argsz = 0xffffffff;
    int rc = call(dev, VFIO_DEVICE_GET_INFO, info);
    printf("info.huge-argsz: GET_INFO -> %s argsz=0x%x flags=0x%x regions=%u\n", err_name(rc),
           info->argsz, info->flags, info->num_regions);
    munmap(pages, 8192);
}

static void describe(int dev, int iommufd, uint32_t devid) {
    struct vfio_device_info info = {.argsz = sizeof(info)};
    int rc = call(dev, VFIO_DEVICE_GET_INFO, &info);
    printf("info: GET_INFO -> %s flags=0x%x regions=%u irqs=%u\n", err_name(rc), info.flags,
           info.num_regions, info.num_irqs);
    info_huge_argsz(dev);
    region_info(dev, VFIO_PCI_BAR0_REGION_INDEX);
    region_info(dev, VFIO_PCI_BAR1_REGION_INDEX);
    region_info(dev, VFIO_PCI_CONFIG_REGION_INDEX);
    region_info(dev, VFIO_PCI_VGA_REGION_INDEX);
    region_info(dev, 9);
    for (uint32_t i = 0; i <= 5; i++) irq_info(dev, i);
    struct iommu_hw_info hw = {.size = sizeof(hw), .dev_id = devid};
    rc = call(iommufd, IOMMU_GET_HW_INFO, &hw);
    printf("hwinfo: GET_HW_INFO -> %s\n", err_name(rc));
    printf("~ hwinfo: type=%u data_len=%u caps=0x%llx\n", hw.out_data_type, hw.data_len,
           U(hw.out_capabilities));
    hw.dev_id = devid + 100;
    printf("hwinfo.baddev: GET_HW_INFO -> %s\n", err_name(call(iommufd, IOMMU_GET_HW_INFO, &hw)));
}

static void edu_basics(int dev) {
    printf("edu.id: 0x%llx\n", U(bar_read(dev, 0x00, 4)));
    bar_write(dev, 0x04, 0x12345678, 4);
    printf("edu.liveness: 0x%llx\n", U(bar_read(dev, 0x04, 4)));
    uint16_t cmd = 0;
    ssize_t n = ioasid_pread(dev, &cmd, 2, CONFIG + 4);
    cmd |= 0x6; /* memory decode and bus master */
    n += ioasid_pwrite(dev, &cmd, 2, CONFIG + 4);
    ioasid_pread(dev, &cmd, 2, CONFIG + 4);
    printf("config.command: io=%zd memory=%d master=%d\n", n, !!(cmd & 2), !!(cmd & 4));
    uint32_t id = 0;
    ioasid_pread(dev, &id, 4, CONFIG);
    printf("config.id: %04x:%04x\n", id & 0xffff, id >> 16);
}

static int wait_irq(int efd, int ms) {
    struct pollfd p = {.fd = efd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) return 0;
    uint64_t count = 0;
    return read(efd, &count, sizeof(count)) == sizeof(count) ? (int)count : 0;
}

static void ack_irq(int dev) {
    uint64_t status = bar_read(dev, 0x24, 4);
    bar_write(dev, 0x64, status, 4);
    printf("edu.irq-status: 0x%llx\n", U(status));
}

static void dma_round_trip(int dev, int iommufd, uint32_t ioas, uint8_t* buf, int efd) {
    for (unsigned i = 0; i < DMA_LEN; i++) buf[i] = (uint8_t)(i * 7 + 3);
    memset(buf + 4096, 0, 4096);
    edu_dma(dev, BUF_IOVA, 0);
    printf("dma.to-device: irq=%d\n", wait_irq(efd, 5000));
    ack_irq(dev);
    edu_dma(dev, BUF_IOVA + 4096, 1);
    printf("dma.to-ram: irq=%d\n", wait_irq(efd, 5000));
    ack_irq(dev);
    printf("dma.bytes: %s\n", memcmp(buf, buf + 4096, DMA_LEN) ? "differ" : "equal");

    struct iommu_ioas_unmap u = {
        .size = sizeof(u), .ioas_id = ioas, .iova = BUF_IOVA + 4096, .length = 4096};
    printf("dma.unmap: IOAS_UNMAP -> %s\n", err_name(call(iommufd, IOMMU_IOAS_UNMAP, &u)));
    memset(buf + 4096, 0, 4096);
    edu_dma(dev, BUF_IOVA + 4096, 1);
    wait_irq(efd, 1000);
    ack_irq(dev);
    static const uint8_t zero[DMA_LEN];
    printf("dma.after-unmap: %s\n",
           memcmp(buf + 4096, zero, DMA_LEN) ? "reached the buffer" : "blocked");
}

static int set_irqs(int dev, uint32_t index, uint32_t count, int32_t fd) {
    union {
        struct vfio_irq_set hdr;
        unsigned char bytes[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
    } s;
    s.hdr = (struct vfio_irq_set){.argsz = sizeof(s),
                                  .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                                  .index = index,
                                  .start = 0,
                                  .count = count};
    memcpy(s.bytes + sizeof(s.hdr), &fd, sizeof(fd));
    return call(dev, VFIO_DEVICE_SET_IRQS, &s);
}

static int set_irqs_flags(int dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count) {
    struct vfio_irq_set s = {
        .argsz = sizeof(s), .flags = flags, .index = index, .start = start, .count = count};
    return call(dev, VFIO_DEVICE_SET_IRQS, &s);
}

/* With MSI on: loopback triggers, INTx refused, masking MSI refused. */
static void irq_loopback(int dev, int efd) {
    const uint32_t none_trigger = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
    int rc = set_irqs_flags(dev, none_trigger, VFIO_PCI_MSI_IRQ_INDEX, 0, 1);
    printf("irq.msi-loopback: SET_IRQS -> %s irq=%d\n", err_name(rc), wait_irq(efd, 5000));
    rc = set_irqs_flags(dev, none_trigger, VFIO_PCI_INTX_IRQ_INDEX, 0, 1);
    printf("irq.intx-while-msi: SET_IRQS -> %s\n", err_name(rc));
    rc = set_irqs_flags(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK,
                        VFIO_PCI_MSI_IRQ_INDEX, 0, 1);
    printf("irq.msi-mask: SET_IRQS -> %s\n", err_name(rc));
    rc = set_irqs_flags(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
                        VFIO_PCI_INTX_IRQ_INDEX, 0, 1);
    printf("irq.intx-unmask: SET_IRQS -> %s\n", err_name(rc));
    rc = set_irqs_flags(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                        VFIO_PCI_REQ_IRQ_INDEX, 0, 1);
    printf("irq.req-none-trigger: SET_IRQS -> %s\n", err_name(rc));
}

/* FEATURE PROBE of every feature number 6.12 defines, RESET. */
static void features_and_reset(int dev) {
    printf("features:");
    for (uint32_t f = 0; f <= 11; f++) {
        struct vfio_device_feature fe = {
            .argsz = sizeof(fe), .flags = f | VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET};
        printf(" %u=%s", f, err_name(call(dev, VFIO_DEVICE_FEATURE, &fe)));
    }
    printf("\n");
    struct vfio_device_feature bad = {.argsz = sizeof(bad),
                                      .flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET};
    printf("feature.get-and-set: FEATURE -> %s\n", err_name(call(dev, VFIO_DEVICE_FEATURE, &bad)));
    printf("reset: RESET -> %s\n", err_name(ioctl(dev, VFIO_DEVICE_RESET) < 0 ? -errno : 0));
}

static int feature_set(int dev, uint32_t feature, int32_t wake_fd) {
    union {
        struct vfio_device_feature hdr;
        unsigned char bytes[sizeof(struct vfio_device_feature) +
                            sizeof(struct vfio_device_low_power_entry_with_wakeup)];
    } f;
    struct vfio_device_low_power_entry_with_wakeup entry = {.wakeup_eventfd = wake_fd};
    f.hdr = (struct vfio_device_feature){.argsz = sizeof(f),
                                         .flags = feature | VFIO_DEVICE_FEATURE_SET};
    memcpy(f.bytes + sizeof(f.hdr), &entry, sizeof(entry));
    return call(dev, VFIO_DEVICE_FEATURE, &f);
}

/* vfio-pci's runtime low power: entry, entry again, exit; with a wakeup
 * eventfd, the next ioctl resumes the device and signals it. */
static void low_power(int dev) {
    printf("lowpower.entry: %s\n", err_name(feature_set(dev, 3, -1)));
    printf("lowpower.entry-again: %s\n", err_name(feature_set(dev, 3, -1)));
    printf("lowpower.exit: %s\n", err_name(feature_set(dev, 5, -1)));
    printf("lowpower.wakeup-badfd: %s\n", err_name(feature_set(dev, 4, -1)));
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    printf("lowpower.wakeup-entry: %s\n", err_name(feature_set(dev, 4, wake)));
    struct vfio_device_info info = {.argsz = sizeof(info)};
    int rc = call(dev, VFIO_DEVICE_GET_INFO, &info);
    printf("lowpower.access: GET_INFO -> %s woke=%d\n", err_name(rc), wait_irq(wake, 5000));
    printf("lowpower.exit-after-wake: %s\n", err_name(feature_set(dev, 5, -1)));
    close(wake);
}

/* A failed SET_IRQS unwinds what it set, so the bad ones come first. */
static void set_msi(int dev, int efd) {
    const uint32_t msi = VFIO_PCI_MSI_IRQ_INDEX;
    printf("irq.msi-badfd: SET_IRQS -> %s\n", err_name(set_irqs(dev, msi, 1, 999)));
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    printf("irq.msi-noteventfd: SET_IRQS -> %s\n", err_name(set_irqs(dev, msi, 1, null)));
    close(null);
    printf("irq.msi-count: SET_IRQS -> %s\n", err_name(set_irqs(dev, msi, 2, efd)));
    printf("irq.msi: SET_IRQS -> %s\n", err_name(set_irqs(dev, msi, 1, efd)));
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: vfio-client IOMMUFD DEVICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int iommufd = open_node(argv[1]), dev = open_node(argv[2]);
    before_bind(dev, iommufd);
    uint32_t devid = 0;
    int rc = bind_device(dev, iommufd, &devid);
    printf("bind: BIND -> %s devid=%u\n", err_name(rc), devid);
    printf("bind.again: BIND -> %s\n", err_name(bind_device(dev, iommufd, NULL)));
    describe(dev, iommufd, devid);

    uint32_t ioas = ioas_alloc(iommufd, "ioas");
    print_ranges(iommufd, ioas, "ranges.detached");
    uint32_t pt = ioas;
    rc = attach_device(dev, &pt);
    printf("attach: ATTACH -> %s pt=%u\n", err_name(rc), pt);
    print_ranges(iommufd, ioas, "ranges.attached");
    uint32_t hwpt = hwpt_alloc(iommufd, devid, ioas, "hwpt");
    pt = hwpt;
    rc = attach_device(dev, &pt);
    printf("attach.hwpt: ATTACH -> %s pt=%u\n", err_name(rc), pt);

    int memfd = memfd_create("vfio-client", 0);
    if (memfd < 0 || ftruncate(memfd, 8192)) die("memfd", 0);
    uint8_t* buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (buf == MAP_FAILED) die("mmap", 0);
    /* Two areas: the second is unmapped on its own later (UNMAP takes
     * whole areas only). */
    printf("map: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)buf, 4096, BUF_IOVA)));
    printf("map.second: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)buf + 4096, 4096, BUF_IOVA + 4096)));

    edu_basics(dev);
    int efd = eventfd(0, EFD_CLOEXEC);
    set_msi(dev, efd);
    irq_loopback(dev, efd);
    dma_round_trip(dev, iommufd, ioas, buf, efd);
    features_and_reset(dev);
    low_power(dev);

    struct vfio_device_detach_iommufd_pt dt = {.argsz = sizeof(dt)};
    printf("detach: DETACH -> %s\n", err_name(call(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt)));
    print_ranges(iommufd, ioas, "ranges.detached-again");
    struct iommu_destroy d = {.size = sizeof(d), .id = hwpt};
    printf("destroy.hwpt: DESTROY -> %s\n", err_name(call(iommufd, IOMMU_DESTROY, &d)));
    close(dev);
    close(iommufd);
    return 0;
}
