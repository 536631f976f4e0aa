/* mmap of a VFIO device's regions, as a VMM maps a BAR, run against a real
 * edu (the kernel's own cdev, or forwarded by ioasidd under ioasid-run) and
 * ioasidd's emulated one:
 *   mmap-check IOMMUFD DEVICE
 * Plain libc calls, as QEMU makes them: under ioasid-run the preload
 * library carries each mmap. Prints one line per check. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioasid/vfio.h"

#define INDEX_OFFSET(i) ((uint64_t)(i) << 40)

static const char* map_result(void* p) {
    return p == MAP_FAILED ? strerrorname_np(errno) : "ok";
}

static void* map_bar(int dev, size_t len, int flags, uint64_t offset) {
    return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, dev, (off_t)offset);
}

/* The edu's registers through the mapping: ID, liveness, a factorial. */
static void check_registers(volatile uint32_t* bar) {
    printf("mapped.id: 0x%08x\n", bar[0]);
    bar[1] = 0x12345678;
    printf("mapped.liveness: 0x%08x\n", bar[1]);
    bar[2] = 10;
    struct timespec tick = {0, 1000000};
    for (int i = 0; i < 1000 && (bar[0x20 / 4] & 1); i++) nanosleep(&tick, NULL);
    printf("mapped.factorial-10: %u\n", bar[2]);
}

/* A memory BAR (ioasidd's membar): a store through the map is what pread
 * reads, and a pwrite is what the map shows. */
static void check_memory(int dev, volatile uint32_t* bar, uint64_t offset) {
    bar[5] = 0xfeedf00d;
    uint32_t v = 0;
    ssize_t n = pread(dev, &v, sizeof(v), (off_t)offset + 20);
    printf("mapped.store-then-pread: %zd bytes 0x%08x\n", n, v);
    v = 0x600dcafe;
    n = pwrite(dev, &v, sizeof(v), (off_t)offset + 0x100);
    printf("pwrite-then-mapped.load: %zd bytes 0x%08x\n", n, bar[0x40]);
}

/* A child holding the same fd, by fork. */
static void check_child(int dev, size_t len) {
    pid_t pid = fork();
    if (pid == 0) {
        void* p = map_bar(dev, len, MAP_SHARED, 0);
        printf("fork-child.mmap: %s\n", map_result(p));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: mmap-check IOMMUFD DEVICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int iommufd = open(argv[1], O_RDWR), dev = open(argv[2], O_RDWR);
    if (iommufd < 0 || dev < 0) return 2;
    printf("before-bind.mmap: %s\n", map_result(map_bar(dev, 4096, MAP_SHARED, 0)));
    struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommufd};
    if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
        perror("mmap-check: BIND");
        return 2;
    }
    struct vfio_region_info info = {.argsz = sizeof(info), .index = VFIO_PCI_BAR0_REGION_INDEX};
    if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &info)) {
        perror("mmap-check: GET_REGION_INFO");
        return 2;
    }
    uint32_t config_id = 0;
    if (pread(dev, &config_id, sizeof(config_id),
              (off_t)INDEX_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX)) != sizeof(config_id))
        return 2;
    printf("config.id: 0x%08x\n", config_id);
    printf("bar0: size 0x%llx offset 0x%llx mmap %s\n", (unsigned long long)info.size,
           (unsigned long long)info.offset, info.flags & VFIO_REGION_INFO_FLAG_MMAP ? "yes" : "no");
    const size_t len = info.size;
    void* bar = map_bar(dev, len, MAP_SHARED, info.offset);
    printf("bar0.mmap: %s\n", map_result(bar));
    if (bar != MAP_FAILED && config_id == 0x10f01234) {
        check_memory(dev, bar, info.offset);
        munmap(bar, len);
    } else if (bar != MAP_FAILED) {
        check_registers(bar);
        uint32_t id = 0;
        ssize_t n = pread(dev, &id, sizeof(id), (off_t)info.offset);
        printf("bar0.pread-after-map: %zd bytes 0x%08x\n", n, id);
        munmap(bar, len);
    }
    /* What vfio-pci refuses: a private map, past the BAR, a region with no
     * mmap (config space), an offset inside the BAR past its last page. */
    printf("private.mmap: %s\n", map_result(map_bar(dev, len, MAP_PRIVATE, info.offset)));
    printf("past-bar0.mmap: %s\n", map_result(map_bar(dev, 2 * len, MAP_SHARED, info.offset)));
    printf("config.mmap: %s\n",
           map_result(map_bar(dev, 4096, MAP_SHARED, INDEX_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX))));
    printf("bar0-tail.mmap: %s\n",
           map_result(map_bar(dev, 8192, MAP_SHARED, info.offset + len - 4096)));
    check_child(dev, len);
    /* The map outlives the close of the device file, as a VFIO file's. */
    bar = map_bar(dev, len, MAP_SHARED, info.offset);
    close(dev);
    if (bar != MAP_FAILED)
        printf("after-close.id: 0x%08x\n", ((volatile uint32_t*)bar)[0]);
    else
        printf("after-close.id: not mapped\n");
    return 0;
}
