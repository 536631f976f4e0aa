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
 */
#include <sys/mman.h>

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

int main(int argc, char** argv) {
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
    return 0;
}
