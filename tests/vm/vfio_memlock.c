/*
 * vfio-memlock: pinning for a device counts against the user's
 * RLIMIT_MEMLOCK, as iommufd's default accounting charges it. Run with a
 * limit of 1.5 MiB, once as an unprivileged user and once as root
 * (CAP_IPC_LOCK: no limit); the transcript is the same against the kernel's
 * /dev/iommu and against ioasidd forwarding the device.
 *
 *   vfio-memlock IOMMUFD DEVICE TAG [DEVICE2]
 *
 * DEVICE2, of another IOMMU group, joins the same IOAS: the kernel pins
 * the IOAS's pages once for both domains, and charges them once.
 *
 * The same memory mapped by a second IOAS_MAP is charged again (each map
 * has pages of its own); an IOAS_COPY shares the pages it copies. Memory
 * the process does not map is EFAULT, also where its charge would fail.
 *
 *   vfio-memlock IOMMUFD DEVICE --fill
 *
 * The first domain of an IOAS pins what it holds: memory unmapped since its
 * IOAS_MAP makes the attach fail.
 *
 *   vfio-memlock IOMMUFD DEVICE --modes
 *
 * As root: each accounting mode (IOMMU_OPTION_RLIMIT_MODE), on a fresh
 * iommufd: then processes of one unprivileged user, each under its own
 * 1.5 MiB limit, map through it. Per user they share one budget; per
 * process (as libvirt sets it for QEMU) each has its own, less what it
 * has mlocked.
 */
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "vfio_common.h"

#define MIB (1ull << 20)

static void map(int iommufd, uint32_t ioas, uint8_t* buf, uint64_t off, uint64_t len,
                const char* tag, const char* step) {
    printf("%s.%s: IOAS_MAP -> %s\n", tag, step,
           err_name(map_fixed(iommufd, ioas, (uintptr_t)(buf + off), len, 0x100000 + off)));
}

static void unmap(int iommufd, uint32_t ioas, uint64_t off, uint64_t len, const char* tag,
                  const char* step) {
    struct iommu_ioas_unmap u = {
        .size = sizeof(u), .ioas_id = ioas, .iova = 0x100000 + off, .length = len};
    printf("%s.%s: IOAS_UNMAP -> %s\n", tag, step, err_name(call(iommufd, IOMMU_IOAS_UNMAP, &u)));
}

static void map_again(int iommufd, uint32_t ioas, uint8_t* buf, uint64_t len, uint64_t iova,
                      const char* tag, const char* step) {
    printf("%s.%s: IOAS_MAP -> %s\n", tag, step,
           err_name(map_fixed(iommufd, ioas, (uintptr_t)buf, len, iova)));
}

static void copy(int iommufd, uint32_t ioas, uint64_t src, uint64_t len, uint64_t dst,
                 const char* tag, const char* step) {
    struct iommu_ioas_copy c = {
        .size = sizeof(c),
        .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
        .dst_ioas_id = ioas,
        .src_ioas_id = ioas,
        .length = len,
        .dst_iova = dst,
        .src_iova = src};
    printf("%s.%s: IOAS_COPY -> %s\n", tag, step, err_name(call(iommufd, IOMMU_IOAS_COPY, &c)));
}

static int option(int iommufd, uint16_t op, uint64_t* val) {
    struct iommu_option o = {
        .size = sizeof(o), .option_id = IOMMU_OPTION_RLIMIT_MODE, .op = op, .val64 = *val};
    int rc = call(iommufd, IOMMU_OPTION, &o);
    *val = o.val64;
    return rc;
}

static void become_user(void) {
    struct rlimit l = {1536 * 1024, 1536 * 1024};
    if (setrlimit(RLIMIT_MEMLOCK, &l) || setgroups(0, NULL) || setgid(1000) || setuid(1000))
        die("become uid 1000", 0);
}

/* A process of uid 1000 that mlocks `locked` bytes of its own, maps `len`
 * of a memfd at `iova`, and unmaps it again if `unmap`. */
static void mapper(int iommufd, uint32_t ioas, const char* tag, const char* step, uint64_t locked,
                   uint64_t len, uint64_t iova, int unmap) {
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) die("fork", 0);
    if (child == 0) {
        become_user();
        if (locked) {
            void* l =
                mmap(NULL, locked, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            printf("%s.%s: mlock 0x%llx -> %s\n", tag, step, U(locked),
                   err_name(l != MAP_FAILED && mlock(l, locked) == 0 ? 0 : -errno));
        }
        int fd = memfd_create("vfio-memlock", 0);
        if (fd < 0 || ftruncate(fd, (off_t)len)) die("memfd", 0);
        uint8_t* buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (buf == MAP_FAILED) die("mmap", 0);
        memset(buf, 1, len);
        printf("%s.%s: IOAS_MAP 0x%llx -> %s\n", tag, step, U(len),
               err_name(map_fixed(iommufd, ioas, (uintptr_t)buf, len, iova)));
        if (unmap) {
            struct iommu_ioas_unmap u = {
                .size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len};
            printf("%s.%s: IOAS_UNMAP -> %s\n", tag, step,
                   err_name(call(iommufd, IOMMU_IOAS_UNMAP, &u)));
        }
        uint64_t v = 0;
        printf("%s.%s: RLIMIT_MODE set 0 unprivileged -> %s\n", tag, step,
               err_name(option(iommufd, IOMMU_OPTION_OP_SET, &v)));
        exit(0);
    }
    waitpid(child, NULL, 0);
}

static void modes(const char* iommufd_path, const char* dev_path, uint64_t mode) {
    const char* tag = mode ? "per-process" : "per-user";
    int iommufd = open_node(iommufd_path);
    uint64_t v = mode;
    printf("%s.set: RLIMIT_MODE set %llu -> %s\n", tag, U(mode),
           err_name(option(iommufd, IOMMU_OPTION_OP_SET, &v)));
    v = 7;
    int rc = option(iommufd, IOMMU_OPTION_OP_GET, &v);
    printf("%s.get: RLIMIT_MODE get -> %s %llu\n", tag, err_name(rc), U(v));
    int dev = open_node(dev_path);
    printf("%s.bind: BIND -> %s\n", tag, err_name(bind_device(dev, iommufd, NULL)));
    v = !mode;
    printf("%s.set-late: RLIMIT_MODE set %llu -> %s\n", tag, U(v),
           err_name(option(iommufd, IOMMU_OPTION_OP_SET, &v)));
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (call(iommufd, IOMMU_IOAS_ALLOC, &a)) die("IOAS_ALLOC", 0);
    uint32_t pt = a.out_ioas_id;
    printf("%s.attach: ATTACH -> %s\n", tag, err_name(attach_device(dev, &pt)));
    /* 1 MiB locked + 768 KiB pinned passes 1.5 MiB only when they are
     * counted apart (per user). */
    mapper(iommufd, a.out_ioas_id, tag, "locked", MIB, 768 << 10, 0x300000, 1);
    mapper(iommufd, a.out_ioas_id, tag, "first", 0, MIB, 0x100000, 0);
    /* Another process of the same user: its own budget only per process. */
    mapper(iommufd, a.out_ioas_id, tag, "second", 0, MIB, 0x200000, 0);
    close(dev);
    close(iommufd);
}

/* iopt_fill_domain(): the first domain pins what the IOAS holds, and memory
 * unmapped since its IOAS_MAP cannot be pinned. */
static void fill(const char* iommufd_path, const char* dev_path) {
    int iommufd = open_node(iommufd_path), dev = open_node(dev_path);
    printf("fill.bind: BIND -> %s\n", err_name(bind_device(dev, iommufd, NULL)));
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (call(iommufd, IOMMU_IOAS_ALLOC, &a)) die("IOAS_ALLOC", 0);
    int fd = memfd_create("vfio-memlock", 0);
    if (fd < 0 || ftruncate(fd, 2 * MIB)) die("memfd", 0);
    uint8_t* buf = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) die("mmap", 0);
    memset(buf, 1, 2 * MIB);
    map(iommufd, a.out_ioas_id, buf, 0, MIB, "fill", "map");
    map(iommufd, a.out_ioas_id, buf, MIB, MIB, "fill", "map-to-unmap");
    munmap(buf + MIB, MIB);
    uint32_t pt = a.out_ioas_id;
    printf("fill.attach-unmapped: ATTACH -> %s\n", err_name(attach_device(dev, &pt)));
    unmap(iommufd, a.out_ioas_id, MIB, MIB, "fill", "unmap-gone");
    pt = a.out_ioas_id;
    printf("fill.attach: ATTACH -> %s\n", err_name(attach_device(dev, &pt)));
    close(dev);
    close(iommufd);
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[3], "--fill") == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        fill(argv[1], argv[2]);
        return 0;
    }
    if (argc == 4 && strcmp(argv[3], "--modes") == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        modes(argv[1], argv[2], 0);
        modes(argv[1], argv[2], 1);
        return 0;
    }
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: vfio-memlock IOMMUFD DEVICE TAG [DEVICE2]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char* tag = argv[3];
    int iommufd = open_node(argv[1]), dev = open_node(argv[2]);
    printf("%s.bind: BIND -> %s\n", tag, err_name(bind_device(dev, iommufd, NULL)));
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (call(iommufd, IOMMU_IOAS_ALLOC, &a)) die("IOAS_ALLOC", 0);
    uint32_t pt = a.out_ioas_id;
    printf("%s.attach: ATTACH -> %s\n", tag, err_name(attach_device(dev, &pt)));
    if (argc == 5) {
        int dev2 = open_node(argv[4]);
        printf("%s.bind2: BIND -> %s\n", tag, err_name(bind_device(dev2, iommufd, NULL)));
        uint32_t pt2 = a.out_ioas_id;
        printf("%s.attach2: ATTACH -> %s\n", tag, err_name(attach_device(dev2, &pt2)));
    }
    int fd = memfd_create("vfio-memlock", 0);
    if (fd < 0 || ftruncate(fd, 2 * MIB)) die("memfd", 0);
    uint8_t* buf = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) die("mmap", 0);
    memset(buf, 1, 2 * MIB);

    map(iommufd, a.out_ioas_id, buf, 0, 2 * MIB, tag, "map-2mib");
    unmap(iommufd, a.out_ioas_id, 0, 2 * MIB, tag, "unmap-2mib");
    map(iommufd, a.out_ioas_id, buf, 0, MIB, tag, "map-1mib");
    map(iommufd, a.out_ioas_id, buf, MIB, MIB, tag, "map-another-1mib");
    unmap(iommufd, a.out_ioas_id, 0, MIB, tag, "unmap-first");
    map(iommufd, a.out_ioas_id, buf, 0, MIB, tag, "map-first-again");
    /* 1 MiB pinned: the same 1 MiB mapped again would make 2, copied 1. */
    map_again(iommufd, a.out_ioas_id, buf, MIB, 0x400000, tag, "map-same-memory-again");
    copy(iommufd, a.out_ioas_id, 0x100000, MIB, 0x600000, tag, "copy-first");
    /* Memory the process does not map, past the user's limit: the kernel
     * pins before it charges, so the missing page decides (EFAULT). */
    uint8_t* hole = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (hole == MAP_FAILED || munmap(hole, MIB)) die("mmap", 0);
    map_again(iommufd, a.out_ioas_id, hole, MIB, 0x800000, tag, "map-unmapped-memory");
    return 0;
}
