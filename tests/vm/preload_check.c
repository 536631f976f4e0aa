/* The preload library's own checks, run under ioasid-run against ioasidd's
 * emulated edu (its config space ID is 0x11e81234):
 *   preload-check IOMMUFD DEVICE
 * Built with _FORTIFY_SOURCE=2, as Debian builds QEMU, so that its reads of
 * a fixed-size buffer call __pread64_chk. Prints one line per check. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioasid/ioasidd.h"
#include "ioasid/kvm_vfio.h"
#include "ioasid/vfio.h"

#define CONFIG_OFFSET ((uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40)

/* The config space ID through a fortified pread of a fixed-size buffer. */
static const char* config_id(int fd) {
    static char out[48];
    uint32_t id = 0;
    ssize_t n = pread(fd, &id, sizeof(id), CONFIG_OFFSET);
    if (n < 0)
        snprintf(out, sizeof(out), "%s", strerrorname_np(errno));
    else
        snprintf(out, sizeof(out), "%zd bytes 0x%08x", n, id);
    return out;
}

/* A file whose first bytes are known, for the fds that are not ioasidd's. */
static int plain_file(void) {
    int fd = memfd_create("preload-check", 0);
    if (fd < 0 || write(fd, "plainfile", 9) != 9) exit(2);
    return fd;
}

static const char* plain_read(int fd) {
    static char out[16];
    memset(out, 0, sizeof(out));
    ssize_t n = pread(fd, out, 9, 0);
    if (n < 0) snprintf(out, sizeof(out), "%s", strerrorname_np(errno));
    return out;
}

static void check_identity(int dev, int file) {
    printf("device.pread: %s\n", config_id(dev));
    printf("file.pread: %s\n", plain_read(file));
    int copy = dup(dev);
    printf("dup.pread: %s\n", config_id(copy));
    /* Past the fd table's first chunk (4096 numbers). */
    int high = fcntl(dev, F_DUPFD_CLOEXEC, 5000);
    printf("f_dupfd-5000.pread: %s\n", config_id(high));
    close(high);
    /* The device's number now names the plain file, then the device again. */
    int saved = dup(dev);
    dup2(file, dev);
    printf("dup2-over-device.pread: %s\n", plain_read(dev));
    dup3(saved, dev, O_CLOEXEC);
    printf("dup3-back.pread: %s\n", config_id(dev));
    close(saved);
    close(copy);
    printf("after-close-of-copy.pread: %s\n", config_id(dev));
    /* Closed behind the library's back (as libc's own fclose does), and the
     * number reused for a plain file: the library must notice. */
    int num = dup(dev);
    config_id(num);
    syscall(SYS_close, num);
    int again = (int)syscall(SYS_dup3, file, num, 0);
    printf("raw-reuse.pread: %s (same number %s)\n", plain_read(num),
           again == num ? "yes" : "no");
    close(num);
}

static void check_fork_and_pass(int dev) {
    pid_t pid = fork();
    if (pid == 0) {
        printf("fork-child.pread: %s\n", config_id(dev));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    /* As a manager passes a node: SCM_RIGHTS, arriving under a new number. */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof(cbuf)};
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &dev, sizeof(int));
    sendmsg(sv[0], &msg, 0);
    int got = -1;
    if (recvmsg(sv[1], &msg, 0) == 1) memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
    printf("scm-rights.pread: %s\n", config_id(got));
    close(got);
    close(sv[0]);
    close(sv[1]);
}

static void check_calls(int dev) {
    uint8_t head[8] = {0};
    struct iovec iov[2] = {{head, 2}, {head + 2, 6}};
    ssize_t n = preadv(dev, iov, 2, CONFIG_OFFSET);
    printf("preadv: %zd bytes %02x%02x%02x%02x %02x\n", n, head[3], head[2], head[1], head[0],
           head[6]);
    n = preadv2(dev, iov, 2, CONFIG_OFFSET, RWF_NOWAIT);
    printf("preadv2-nowait: %s\n", n < 0 ? strerrorname_np(errno) : "ok");
    n = preadv2(dev, iov, 2, -1, 0);
    printf("preadv2-file-position: %s\n", n < 0 ? strerrorname_np(errno) : "ok");
    n = pread(dev, head, 4, -4);
    printf("pread-negative-offset: %s\n", n < 0 ? strerrorname_np(errno) : "ok");
    /* The liveness register of BAR0 (offset 4), written then read. */
    uint32_t v = 0x12345678, back = 0;
    ssize_t w = pwrite(dev, &v, 4, 4);
    struct iovec wiov = {&v, 4};
    ssize_t wv = pwritev(dev, &wiov, 1, 4);
    ssize_t r = pread(dev, &back, 4, 4);
    printf("pwrite-pwritev-liveness: %zd %zd %zd 0x%08x\n", w, wv, r, back);
}

/* The fortified read with a count past the buffer aborts, as glibc's. */
static void check_fortify(int dev) {
    pid_t pid = fork();
    if (pid == 0) {
        char small[2];
        volatile size_t count = 4;
        _exit(pread(dev, small, count, CONFIG_OFFSET) < 0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("fortified-overflow: %s\n",
           WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? "aborted" : "not aborted");
}

/* KVM_DEV_VFIO_FILE_ADD of the device on a file that is not kvm-vfio goes
 * to the kernel, which does not know the request there. */
static void check_kvm(int iommufd, int dev) {
    int32_t fd = dev;
    struct kvm_device_attr attr = {.group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD,
                                   .addr = (uintptr_t)&fd};
    int pfd[2];
    if (pipe(pfd)) exit(2);
    int rc = ioctl(pfd[0], KVM_SET_DEVICE_ATTR, &attr);
    printf("kvm-attr-on-a-pipe: %s\n", rc < 0 ? strerrorname_np(errno) : "ok");
    rc = ioctl(iommufd, KVM_SET_DEVICE_ATTR, &attr);
    printf("kvm-attr-on-iommufd: %s\n", rc < 0 ? strerrorname_np(errno) : "ok");
    close(pfd[0]);
    close(pfd[1]);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: preload-check IOMMUFD DEVICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit nofile = {8192, 8192};
    if (setrlimit(RLIMIT_NOFILE, &nofile)) perror("preload-check: RLIMIT_NOFILE");
    int iommufd = open(argv[1], O_RDWR), dev = open(argv[2], O_RDWR);
    if (iommufd < 0 || dev < 0) return 2;
    printf("before-bind.pread: %s\n", config_id(dev));
    struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommufd};
    if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
        perror("preload-check: BIND");
        return 2;
    }
    int file = plain_file();
    check_identity(dev, file);
    check_fork_and_pass(dev);
    check_calls(dev);
    check_fortify(dev);
    check_kvm(iommufd, dev);
    return 0;
}
