/* MMIO to an emulated device from a VMM's side, in one run (issue 18):
 *   (lib)  a 4-byte pread of the edu's BAR0 ID register through
 *          libioasid-preload.so, as QEMU's vCPU thread does it: pread on
 *          the device fd, which the library turns into one
 *          IOASIDD_REGION_READ_FAST (the access in the number and argument);
 *   (rw)   the same read as IOASIDD_REGION_RW, the library's general
 *          command (a struct and its data in the caller's memory);
 *   (a)    one no-op ioctl on the baseline CUSE node: a bare round trip;
 *   (b)    one ioctl on the baseline node that reads and writes 40 bytes
 *          of the caller's memory, as REGION_RW writes its 4;
 *   (s)    a 40-byte message and an 8-byte answer over a SOCK_SEQPACKET
 *          socket pair to a thread of this process: what a channel for
 *          region access other than CUSE would pay at the least.
 * Alternating blocks of 100; medians. Run it under ioasid-run:
 *   mmio-bench ITERATIONS    (/dev/ioasid, /dev/vfio/device0, /dev/ioasid-bench) */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench_ioctl.h"
#include "bench/bench_time.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"

enum { LIB, REGION_RW, NOOP, RW, SOCK, SUBJECTS };
static const char* names[SUBJECTS] = {
    "(lib) pread of BAR0 through the library", "(rw) REGION_RW ioctl of BAR0",
    "(a) no-op ioctl, baseline node", "(b) 40-byte rw ioctl, baseline node",
    "(s) socket round trip to a thread"};

static int sock[2];

static void* answer_messages(void* unused) {
    (void)unused;
    char msg[64];
    while (recv(sock[1], msg, sizeof(msg), 0) > 0) send(sock[1], msg, 8, 0);
    return NULL;
}

static int socket_round_trip(void) {
    char msg[40] = {0};
    return send(sock[0], msg, sizeof(msg), 0) == sizeof(msg) && recv(sock[0], msg, 8, 0) == 8;
}

static double one(int s, int dev, int bench) {
    uint8_t buf[BENCH_RW_SIZE] = {0};
    uint32_t id = 0;
    double t0 = now_us();
    struct ioasidd_region_rw rrw = {sizeof(rrw), 0, 0, 4, (uintptr_t)&id};
    int ok = s == LIB         ? pread(dev, &id, 4, 0) == 4 && id == 0x010000ed
             : s == REGION_RW ? ioctl(dev, IOASIDD_REGION_RW, &rrw) == 4 && id == 0x010000ed
             : s == NOOP      ? ioctl(bench, BENCH_NOOP, 0) == 0
             : s == RW        ? ioctl(bench, BENCH_RW, buf) == 0
                              : socket_round_trip();
    double t = now_us() - t0;
    if (!ok) {
        fprintf(stderr, "mmio-bench: %s failed\n", names[s]);
        exit(1);
    }
    return t;
}

int main(int argc, char** argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 5000;
    int iommufd = open("/dev/ioasid", O_RDWR), dev = open("/dev/vfio/device0", O_RDWR);
    int bench = open("/dev/ioasid-bench", O_RDWR);
    if (iommufd < 0 || dev < 0 || bench < 0) {
        fprintf(stderr, "mmio-bench: needs /dev/ioasid, /dev/vfio/device0, /dev/ioasid-bench\n");
        return 1;
    }
    struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommufd};
    if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
        perror("mmio-bench: BIND");
        return 1;
    }
    pthread_t answerer;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sock) ||
        pthread_create(&answerer, NULL, answer_messages, NULL)) {
        perror("mmio-bench: socket pair");
        return 1;
    }
    double* samples[SUBJECTS];
    for (int s = 0; s < SUBJECTS; s++) samples[s] = calloc(iters, sizeof(double));
    for (int warm = 0; warm < 300; warm++)
        for (int s = 0; s < SUBJECTS; s++) one(s, dev, bench);
    const int block = 100;
    int count = 0;
    for (; count < iters; count += block)
        for (int s = 0; s < SUBJECTS; s++)
            for (int i = 0; i < block && count + i < iters; i++)
                samples[s][count + i] = one(s, dev, bench);
    count = iters;
    double med[SUBJECTS];
    for (int s = 0; s < SUBJECTS; s++) {
        qsort(samples[s], count, sizeof(double), cmp);
        med[s] = samples[s][count / 2];
        printf("bench: %-42s median %7.1f us (%d calls; p10 %.1f, p90 %.1f)\n", names[s], med[s],
               count, samples[s][count / 10], samples[s][count * 9 / 10]);
    }
    printf("bench: ratio (lib) / (a) = %.2f (target <= 1.2)\n", med[LIB] / med[NOOP]);
    printf("bench: ratio (lib) / (b) = %.2f\n", med[LIB] / med[RW]);
    printf("bench: ratio (rw) / (a) = %.2f (the general command the fast one replaces)\n",
           med[REGION_RW] / med[NOOP]);
    printf("bench: ratio (s) / (a) = %.2f (a socket channel against a CUSE round trip)\n",
           med[SOCK] / med[NOOP]);
    return 0;
}
