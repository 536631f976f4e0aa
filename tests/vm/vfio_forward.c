/*
 * vfio-forward: what only a forwarded device shows. Private memory cannot
 * be mapped for it (the daemon cannot share those pages with the
 * container); after the daemon is killed (the test script does it while
 * this program waits on stdin), the client's calls fail with ENOTCONN.
 *
 *   vfio-forward IOMMUFD DEVICE < go
 */
#include <sys/mman.h>

#include "vfio_common.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: vfio-forward IOMMUFD DEVICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int iommufd = open_node(argv[1]), dev = open_node(argv[2]);
    uint32_t devid = 0;
    int rc = bind_device(dev, iommufd, &devid);
    printf("bind: BIND -> %s\n", err_name(rc));
    uint32_t ioas = ioas_alloc(iommufd, "ioas");
    uint32_t pt = ioas;
    rc = attach_device(dev, &pt);
    printf("attach: ATTACH -> %s\n", err_name(rc));

    void* priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void* shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (priv == MAP_FAILED || shared == MAP_FAILED) die("mmap", 0);
    printf("map.private: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)priv, 8192, 0x100000)));
    printf("map.shared-anonymous: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)shared, 8192, 0x200000)));
    /* A second IOAS with private memory: attaching moves the container and fails. */
    uint32_t ioas2 = ioas_alloc(iommufd, "ioas2");
    map_fixed(iommufd, ioas2, (uintptr_t)priv, 8192, 0x100000);
    pt = ioas2;
    printf("replace.to-private: ATTACH -> %s\n", err_name(attach_device(dev, &pt)));
    print_ranges(iommufd, ioas, "ranges");

    printf("ready\n");
    char line[16];
    if (!fgets(line, sizeof(line), stdin)) return 1;
    struct vfio_device_info info = {.argsz = sizeof(info)};
    printf("after-kill.device: GET_INFO -> %s\n", err_name(call(dev, VFIO_DEVICE_GET_INFO, &info)));
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    printf("after-kill.iommufd: IOAS_ALLOC -> %s\n", err_name(call(iommufd, IOMMU_IOAS_ALLOC, &a)));
    return 0;
}
