/*
 * IOAS_MAP + IOAS_UNMAP of a 2 MiB shared buffer through a device ioasidd
 * forwards, against VFIO_IOMMU_MAP_DMA + UNMAP_DMA of the same buffer on
 * the container of a second, identical device the benchmark opens itself:
 * what forwarding costs on top of the legacy API it drives. A third series
 * is the floor any pair of ioctls through ioasidd pays (two CUSE round
 * trips, each reading and writing its argument): two IOMMU_OPTION gets.
 * The three alternate in blocks of 10 pairs so that drift hits them alike;
 * medians of ITERS pairs each.
 *
 *   forward-bench IOMMUFD DEVICE GROUP ITERS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_time.h"
#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"

#define LEN (2u << 20)
#define IOVA 0x40000000ull

static void must(int ok, const char* what) {
    if (!ok) {
        fprintf(stderr, "forward-bench: %s: %s\n", what, strerror(errno));
        exit(1);
    }
}

static void* shared_buffer(void) {
    int fd = memfd_create("forward-bench", 0);
    must(fd >= 0 && ftruncate(fd, LEN) == 0, "memfd");
    void* p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    must(p != MAP_FAILED, "mmap");
    memset(p, 1, LEN);  // pages exist before the first pin
    return p;
}

static double pair_direct(int container, void* buf) {
    struct vfio_iommu_type1_dma_map m = {
        sizeof(m), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, (uintptr_t)buf, IOVA, LEN};
    struct vfio_iommu_type1_dma_unmap u = {sizeof(u), 0, IOVA, LEN};
    double t0 = now_us();
    must(ioctl(container, VFIO_IOMMU_MAP_DMA, &m) == 0, "VFIO_IOMMU_MAP_DMA");
    must(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) == 0, "VFIO_IOMMU_UNMAP_DMA");
    return now_us() - t0;
}

static int open_container(const char* group_path) {
    int group = open(group_path, O_RDWR), container = open("/dev/vfio/vfio", O_RDWR);
    must(group >= 0 && container >= 0, "open group/container");
    must(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0, "SET_CONTAINER");
    must(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0, "SET_IOMMU");
    return container;
}

static double pair_ioasidd(int iommufd, uint32_t ioas, void* buf) {
    struct iommu_ioas_map m = {
        .size = sizeof(m),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .ioas_id = ioas,
        .user_va = (uintptr_t)buf,
        .length = LEN,
        .iova = IOVA};
    struct iommu_ioas_unmap u = {.size = sizeof(u), .ioas_id = ioas, .iova = IOVA, .length = LEN};
    double t0 = now_us();
    must(ioctl(iommufd, IOMMU_IOAS_MAP, &m) == 0, "IOAS_MAP");
    must(ioctl(iommufd, IOMMU_IOAS_UNMAP, &u) == 0, "IOAS_UNMAP");
    return now_us() - t0;
}

static double pair_floor(int iommufd, uint32_t ioas) {
    struct iommu_option o = {.size = sizeof(o),
                             .option_id = IOMMU_OPTION_HUGE_PAGES,
                             .op = IOMMU_OPTION_OP_GET,
                             .object_id = ioas};
    double t0 = now_us();
    must(ioctl(iommufd, IOMMU_OPTION, &o) == 0, "IOMMU_OPTION");
    must(ioctl(iommufd, IOMMU_OPTION, &o) == 0, "IOMMU_OPTION");
    return now_us() - t0;
}

static uint32_t attach_to_new_ioas(int iommufd, int dev) {
    struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
    must(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &b) == 0, "BIND");
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    must(ioctl(iommufd, IOMMU_IOAS_ALLOC, &a) == 0, "IOAS_ALLOC");
    struct vfio_device_attach_iommufd_pt at = {.argsz = sizeof(at), .pt_id = a.out_ioas_id};
    must(ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0, "ATTACH");
    return a.out_ioas_id;
}

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: forward-bench IOMMUFD DEVICE GROUP ITERS\n");
        return 2;
    }
    const int iters = atoi(argv[4]), block = 10;
    double* forwarded = calloc((size_t)iters, sizeof(double));
    double* direct = calloc((size_t)iters, sizeof(double));
    double* floor = calloc((size_t)iters, sizeof(double));
    void* buf = shared_buffer();
    int iommufd = open(argv[1], O_RDWR), dev = open(argv[2], O_RDWR);
    must(iommufd >= 0 && dev >= 0, "open nodes");
    uint32_t ioas = attach_to_new_ioas(iommufd, dev);
    int container = open_container(argv[3]);
    for (int i = 0; i < iters; i += block) {
        for (int j = i; j < i + block && j < iters; j++)
            forwarded[j] = pair_ioasidd(iommufd, ioas, buf);
        for (int j = i; j < i + block && j < iters; j++) direct[j] = pair_direct(container, buf);
        for (int j = i; j < i + block && j < iters; j++) floor[j] = pair_floor(iommufd, ioas);
    }
    qsort(forwarded, (size_t)iters, sizeof(double), cmp);
    qsort(direct, (size_t)iters, sizeof(double), cmp);
    qsort(floor, (size_t)iters, sizeof(double), cmp);
    printf("ioasidd %.1f\ndirect %.1f\nfloor %.1f\n", forwarded[iters / 2], direct[iters / 2],
           floor[iters / 2]);
    return 0;
}
