/*
 * One VM run, medians of many calls, in alternating blocks so drift hits
 * every subject alike:
 *   ioasidd:  IOAS_MAP + IOAS_UNMAP on /dev/ioasid
 *   (a)       two no-op ioctls on the baseline CUSE node
 *   (b)       two read+write-back ioctls on the baseline node
 *   kernel:   IOAS_MAP + IOAS_UNMAP on the kernel's /dev/iommu, if present
 *   vm-bench [ITERATIONS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_ioctl.h"
#include "bench/bench_time.h"
#include "ioasid/iommufd.h"

enum { IOASIDD, NOOP, RW, KERNEL, SUBJECTS };
static const char* names[SUBJECTS] = {"ioasidd IOAS_MAP+UNMAP", "(a) 2x no-op ioctl",
                                      "(b) 2x read+write-back ioctl",
                                      "kernel /dev/iommu IOAS_MAP+UNMAP"};

static uint32_t alloc_ioas(int fd) {
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (ioctl(fd, IOMMU_IOAS_ALLOC, &a)) {
        perror("vm-bench: IOAS_ALLOC");
        exit(1);
    }
    return a.out_ioas_id;
}

static char buffer[1 << 16] __attribute__((aligned(4096)));

static double map_unmap(int fd, uint32_t ioas) {
    struct iommu_ioas_map m = {
        .size = sizeof(m),
        .ioas_id = ioas,
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .user_va = (uintptr_t)buffer,
        .length = sizeof(buffer),
        .iova = 0x100000};
    struct iommu_ioas_unmap u = {
        .size = sizeof(u), .ioas_id = ioas, .iova = 0x100000, .length = sizeof(buffer)};
    double t0 = now_us();
    if (ioctl(fd, IOMMU_IOAS_MAP, &m) || ioctl(fd, IOMMU_IOAS_UNMAP, &u)) {
        perror("vm-bench: map/unmap");
        exit(1);
    }
    return now_us() - t0;
}

static double two_calls(int fd, unsigned long cmd) {
    unsigned char arg[BENCH_RW_SIZE] = {0};
    double t0 = now_us();
    if (ioctl(fd, cmd, arg) || ioctl(fd, cmd, arg)) {
        perror("vm-bench: baseline ioctl");
        exit(1);
    }
    return now_us() - t0;
}

int main(int argc, char** argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    int fd_ioasid = open("/dev/ioasid", O_RDWR);
    int fd_bench = open("/dev/ioasid-bench", O_RDWR);
    int fd_kernel = open("/dev/iommu", O_RDWR);
    if (fd_ioasid < 0 || fd_bench < 0) {
        fprintf(stderr, "vm-bench: needs /dev/ioasid and /dev/ioasid-bench\n");
        return 1;
    }
    uint32_t ioas = alloc_ioas(fd_ioasid);
    uint32_t kioas = fd_kernel >= 0 ? alloc_ioas(fd_kernel) : 0;
    double* samples[SUBJECTS];
    int count[SUBJECTS] = {0};
    for (int s = 0; s < SUBJECTS; s++) samples[s] = calloc(iters, sizeof(double));

    const int block = 100;
    for (int warm = 0; warm < 200; warm++) {
        map_unmap(fd_ioasid, ioas);
        two_calls(fd_bench, BENCH_RW);
    }
    for (int done = 0; done < iters; done += block) {
        int n = iters - done < block ? iters - done : block;
        for (int i = 0; i < n; i++) samples[IOASIDD][count[IOASIDD]++] = map_unmap(fd_ioasid, ioas);
        for (int i = 0; i < n; i++) samples[NOOP][count[NOOP]++] = two_calls(fd_bench, BENCH_NOOP);
        for (int i = 0; i < n; i++) samples[RW][count[RW]++] = two_calls(fd_bench, BENCH_RW);
        if (fd_kernel >= 0)
            for (int i = 0; i < n; i++)
                samples[KERNEL][count[KERNEL]++] = map_unmap(fd_kernel, kioas);
    }
    double med[SUBJECTS] = {0};
    for (int s = 0; s < SUBJECTS; s++) {
        if (!count[s]) continue;
        qsort(samples[s], count[s], sizeof(double), cmp);
        med[s] = samples[s][count[s] / 2];
        printf("bench: %-34s median %8.1f us per pair (%d pairs; p10 %.1f, p90 %.1f)\n", names[s],
               med[s], count[s], samples[s][count[s] / 10], samples[s][count[s] * 9 / 10]);
    }
    printf("bench: ratio ioasidd / (b) = %.2f (target <= 1.2)\n", med[IOASIDD] / med[RW]);
    printf("bench: ratio ioasidd / (a) = %.2f\n", med[IOASIDD] / med[NOOP]);
    if (count[KERNEL]) printf("bench: ratio ioasidd / kernel = %.1f\n", med[IOASIDD] / med[KERNEL]);
    return 0;
}
