/* Clients that keep requests in flight, for what the daemon must survive:
 *
 *   vfio-inflight loop IOMMUFD
 *     IOAS_ALLOC and DESTROY without pause until a call fails; prints the
 *     errno that ended it ("loop-end daemon-gone" when the daemon went
 *     away) and whether any round passed.
 *   vfio-inflight bind-loop IOMMUFD DEVICE
 *     opens both nodes, BINDs the device, allocates an IOAS, ATTACHes, and
 *     closes, over and over, until it is killed: a kill -9 lands in the
 *     middle of one of those calls. Prints "bind-loop ready" after the first
 *     round that bound.
 *   vfio-inflight hold IOMMUFD DEVICE
 *     BINDs and ATTACHes the device, prints "hold ready", and keeps it
 *     until its standard input ends.
 *   vfio-inflight second IOMMUFD DEVICE
 *     what a second process gets from a device another one holds: BIND,
 *     and GET_INFO on its unbound file, one line each.
 */
#include "vfio_common.h"

static int loop(const char* iommufd_path) {
    int fd = open_node(iommufd_path);
    unsigned long rounds = 0;
    int rc;
    for (;;) {
        struct iommu_ioas_alloc a = {.size = sizeof(a)};
        if ((rc = call(fd, IOMMU_IOAS_ALLOC, &a))) break;
        struct iommu_destroy d = {.size = sizeof(d), .id = a.out_ioas_id};
        if ((rc = call(fd, IOMMU_DESTROY, &d))) break;
        if (++rounds == 1) {
            printf("loop running\n");
            fflush(stdout);
        }
    }
    /* The call in flight when the daemon went gets the FUSE abort's
     * ECONNABORTED, a call after it ENOTCONN: both say "no daemon", which
     * is all that counts here. */
    const char* end = rc == -ENOTCONN || rc == -ECONNABORTED ? "daemon-gone" : err_name(rc);
    printf("loop-end %s after %s\n", end, rounds ? "some rounds" : "no round");
    return 0;
}

static int bind_loop(const char* iommufd_path, const char* device_path) {
    for (unsigned long round = 0;; round++) {
        int iommufd = open_node(iommufd_path);
        int dev = open_node(device_path);
        uint32_t devid, pt;
        int rc = bind_device(dev, iommufd, &devid);
        if (!rc) {
            struct iommu_ioas_alloc a = {.size = sizeof(a)};
            rc = call(iommufd, IOMMU_IOAS_ALLOC, &a);
            pt = a.out_ioas_id;
            if (!rc) rc = attach_device(dev, &pt);
        }
        if (rc) {
            printf("bind-loop round %lu: %s\n", round, err_name(rc));
            return 1;
        }
        if (round == 0) {
            printf("bind-loop ready\n");
            fflush(stdout);
        }
        close(dev);
        close(iommufd);
    }
}

static int hold(const char* iommufd_path, const char* device_path) {
    int iommufd = open_node(iommufd_path);
    int dev = open_node(device_path);
    uint32_t devid, pt;
    int rc = bind_device(dev, iommufd, &devid);
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    if (!rc) rc = call(iommufd, IOMMU_IOAS_ALLOC, &a);
    pt = a.out_ioas_id;
    if (!rc) rc = attach_device(dev, &pt);
    printf("hold %s\n", rc ? err_name(rc) : "ready");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return rc ? 1 : 0;
}

static int second(const char* iommufd_path, const char* device_path) {
    int iommufd = open_node(iommufd_path);
    int dev = open(device_path, O_RDWR | O_CLOEXEC);
    printf("second.open: %s\n", dev < 0 ? err_name(-errno) : "ok");
    if (dev < 0) return 0;
    printf("second.bind: BIND -> %s\n", err_name(bind_device(dev, iommufd, NULL)));
    struct vfio_device_info info = {.argsz = sizeof(info)};
    printf("second.info: GET_INFO -> %s\n", err_name(call(dev, VFIO_DEVICE_GET_INFO, &info)));
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 4 && !strcmp(argv[1], "hold")) return hold(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "second")) return second(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "loop")) return loop(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "bind-loop")) return bind_loop(argv[2], argv[3]);
    fprintf(stderr, "usage: vfio-inflight loop IOMMUFD | bind-loop|hold|second IOMMUFD DEVICE\n");
    return 2;
}
