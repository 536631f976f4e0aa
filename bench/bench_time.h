/* Timing helpers of the VM benchmarks: a monotonic clock in microseconds
 * and a comparison for qsort() of samples (medians). */
#ifndef IOASID_BENCH_TIME_H
#define IOASID_BENCH_TIME_H
#include <time.h>

static inline double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static inline int cmp(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}
#endif
