/*
 * MMIO to a forwarded device with its BAR mapped (issue 18): loads of the
 * edu's ID register through BAR0 of an edu ioasidd forwards, mapped through
 * libioasid-preload.so as QEMU maps it, against the same loads through BAR0
 * of a second, identical edu the benchmark opens itself on the legacy API
 * (what QEMU 7.2 does given the device directly). A third series is what
 * the BAR costs without the map: a 4-byte pread of the forwarded edu, which
 * the library carries to the daemon. Blocks of 100 alternate; each sample
 * is one access; medians of ITERS per series. Run under ioasid-run:
 *
 *   bar-bench IOMMUFD DEVICE GROUP ADDRESS ITERS   (ADDRESS: the second edu's)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench_time.h"
#include "ioasid/vfio.h"

#define EDU_ID 0x010000edu

static void must(int ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "bar-bench: %s: %s\n", what, strerror(errno));
        exit(1);
    }
}

static volatile uint32_t* map_bar0(int dev) {
    struct vfio_region_info info = {.argsz = sizeof(info), .index = VFIO_PCI_BAR0_REGION_INDEX};
    must(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &info) == 0, "GET_REGION_INFO");
    void* p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)info.offset);
    must(p != MAP_FAILED, "mmap of BAR0");
    return p;
}

/* The second edu as QEMU 7.2 opens it: group, container, device fd. */
static int open_direct(const char* group_path, const char* address) {
    int group = open(group_path, O_RDWR), container = open("/dev/vfio/vfio", O_RDWR);
    must(group >= 0 && container >= 0, "open group/container");
    must(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0, "SET_CONTAINER");
    must(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0, "SET_IOMMU");
    int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, address);
    must(dev >= 0, "GET_DEVICE_FD");
    return dev;
}

static double load(volatile uint32_t* bar) {
    double t0 = now_us();
    uint32_t v = bar[0];
    double t = now_us() - t0;
    must(v == EDU_ID, "the edu's ID through the map");
    return t;
}

static double pread_id(int dev) {
    uint32_t v = 0;
    double t0 = now_us();
    ssize_t n = pread(dev, &v, 4, 0);
    double t = now_us() - t0;
    must(n == 4 && v == EDU_ID, "pread of the edu's ID");
    return t;
}

static double median(double* s, int n) {
    qsort(s, (size_t)n, sizeof(double), cmp);
    return s[n / 2];
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: bar-bench IOMMUFD DEVICE GROUP ADDRESS ITERS\n");
        return 2;
    }
    const int iters = atoi(argv[5]), block = 100;
    int iommufd = open(argv[1], O_RDWR), dev = open(argv[2], O_RDWR);
    must(iommufd >= 0 && dev >= 0, "open nodes");
    struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
    must(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b) == 0, "BIND");
    volatile uint32_t* forwarded = map_bar0(dev);
    volatile uint32_t* direct = map_bar0(open_direct(argv[3], argv[4]));
    double* s[3];
    for (int k = 0; k < 3; k++) s[k] = calloc((size_t)iters, sizeof(double));
    for (int i = 0; i < iters; i += block) {
        for (int j = i; j < i + block && j < iters; j++) s[0][j] = load(forwarded);
        for (int j = i; j < i + block && j < iters; j++) s[1][j] = load(direct);
        for (int j = i; j < i + block && j < iters; j++) s[2][j] = pread_id(dev);
    }
    printf("mapped-forwarded %.2f\nmapped-direct %.2f\npread-forwarded %.2f\n", median(s[0], iters),
           median(s[1], iters), median(s[2], iters));
    return 0;
}
