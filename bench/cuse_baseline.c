/*
 * The benchmark's baseline: the smallest CUSE node that can answer an ioctl,
 * built on libfuse's own single-threaded loop. It answers
 *   BENCH_NOOP: at once, with nothing read or written;
 *   BENCH_RW:   after reading the caller's 40-byte struct with
 *               process_vm_readv and writing it back with process_vm_writev,
 * both in one round trip. ioasidd's IOAS_MAP/UNMAP do (b)'s memory work
 * plus their own, so (b) is the floor they are measured against.
 *   cuse-baseline [DEVNAME]   (default ioasid-bench; runs in the foreground)
 */
#define FUSE_USE_VERSION 34
#include <cuse_lowlevel.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "bench/bench_ioctl.h"

static void bench_open(fuse_req_t req, struct fuse_file_info* fi) {
    fuse_reply_open(req, fi);
}

static void bench_ioctl(fuse_req_t req, int cmd, void* arg, struct fuse_file_info* fi,
                        unsigned flags, const void* in_buf, size_t in_size, size_t out_size) {
    (void)fi;
    (void)flags;
    (void)in_buf;
    (void)in_size;
    (void)out_size;
    if ((unsigned)cmd == BENCH_NOOP) {
        fuse_reply_ioctl(req, 0, NULL, 0);
        return;
    }
    if ((unsigned)cmd != BENCH_RW) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    unsigned char buf[BENCH_RW_SIZE];
    struct iovec local = {buf, sizeof(buf)}, remote = {arg, sizeof(buf)};
    pid_t pid = fuse_req_ctx(req)->pid;
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(buf)) {
        fuse_reply_err(req, EFAULT);
        return;
    }
    buf[sizeof(buf) - 1] ^= 1; /* something to write back */
    if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(buf)) {
        fuse_reply_err(req, EFAULT);
        return;
    }
    fuse_reply_ioctl(req, 0, NULL, 0);
}

int main(int argc, char** argv) {
    char devarg[128];
    snprintf(devarg, sizeof(devarg), "DEVNAME=%s", argc > 1 ? argv[1] : "ioasid-bench");
    const char* dev_info[] = {devarg};
    struct cuse_info ci = {
        .dev_info_argc = 1, .dev_info_argv = dev_info, .flags = CUSE_UNRESTRICTED_IOCTL};
    struct cuse_lowlevel_ops ops = {.open = bench_open, .ioctl = bench_ioctl};
    char* args[] = {argv[0], "-f", "-s", NULL};
    return cuse_lowlevel_main(3, args, &ci, &ops, NULL);
}
