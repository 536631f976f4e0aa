/* The baseline node's two ioctls (bench/cuse_baseline.c). */
#ifndef IOASID_BENCH_IOCTL_H
#define IOASID_BENCH_IOCTL_H
#include <linux/ioctl.h>
#define BENCH_NOOP _IO('B', 1)
#define BENCH_RW _IO('B', 2)
#define BENCH_RW_SIZE 40 /* sizeof(struct iommu_ioas_map) */
#endif
