/*
 * vfio-revoke: a device node whose IOMMU group changes under it, driven by
 * real driver binds and unbinds on the host (kernel uevents). DEV is an
 * emulated device that joined host group GROUP; UNBLOCK unbinds the host
 * drivers that keep the group from being viable, BLOCK binds one back.
 * The transcript is compared with tests/vm/expected/.
 *
 *   vfio-revoke IOMMUFD DEV GROUP UNBLOCK BLOCK
 */
#include "ioasid/ioasidd.h"
#include "vfio_common.h"

static int group_flags(int iommufd, uint32_t group, uint32_t* blocking) {
    struct ioasidd_group_status st = {.argsz = sizeof(st), .id = group};
    if (call(iommufd, IOASIDD_GROUP_STATUS, &st)) return -1;
    *blocking = st.out_num_blocking;
    return (int)st.out_flags;
}

static void print_status(int iommufd, uint32_t group, const char* step) {
    uint32_t blocking = 0;
    int f = group_flags(iommufd, group, &blocking);
    printf("%s: %s%s blocking=%u\n", step, f & IOASIDD_GROUP_VIABLE ? "viable" : "not-viable",
           f & IOASIDD_GROUP_OWNED ? " owned" : "", blocking);
}

/* Uevents arrive asynchronously: wait (up to 5 s) for the daemon to see them. */
static void wait_viable(int iommufd, uint32_t group, int viable) {
    for (int i = 0; i < 500; i++) {
        uint32_t blocking;
        int f = group_flags(iommufd, group, &blocking);
        if (f >= 0 && !!(f & IOASIDD_GROUP_VIABLE) == viable) return;
        usleep(10000);
    }
}

static int get_info(int dev) {
    struct vfio_device_info info = {.argsz = sizeof(info)};
    return call(dev, VFIO_DEVICE_GET_INFO, &info);
}

static void run(const char* what, const char* cmd) {
    int rc = system(cmd);
    printf("host: %s -> %s\n", what, rc == 0 ? "ok" : "failed");
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: vfio-revoke IOMMUFD DEV GROUP UNBLOCK BLOCK\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const uint32_t group = (uint32_t)strtoul(argv[3], NULL, 0);
    int iommufd = open_node(argv[1]), dev = open_node(argv[2]);
    print_status(iommufd, group, "status.start");
    printf("bind.not-viable: BIND -> %s\n", err_name(bind_device(dev, iommufd, NULL)));

    run("unbind the group's host drivers", argv[4]);
    wait_viable(iommufd, group, 1);
    print_status(iommufd, group, "status.unbound");
    uint32_t devid = 0;
    int rc = bind_device(dev, iommufd, &devid);
    printf("bind.viable: BIND -> %s devid=%u\n", err_name(rc), devid);
    uint32_t pt = ioas_alloc(iommufd, "ioas");
    rc = attach_device(dev, &pt);
    printf("attach: ATTACH -> %s\n", err_name(rc));
    print_status(iommufd, group, "status.bound");

    run("bind a host driver back", argv[5]);
    for (int i = 0; i < 500 && get_info(dev) == 0; i++) usleep(10000);
    printf("revoked: GET_INFO -> %s\n", err_name(get_info(dev)));
    printf("revoked: BIND -> %s\n", err_name(bind_device(dev, iommufd, NULL)));
    print_status(iommufd, group, "status.revoked");
    int dev2 = open_node(argv[2]);
    printf("reopen.not-viable: BIND -> %s\n", err_name(bind_device(dev2, iommufd, NULL)));

    run("unbind the group's host drivers again", argv[4]);
    wait_viable(iommufd, group, 1);
    printf("reopen.viable: BIND -> %s\n", err_name(bind_device(dev2, iommufd, NULL)));
    printf("revoked-file: GET_INFO -> %s\n", err_name(get_info(dev)));
    return 0;
}
