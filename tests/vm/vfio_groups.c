/*
 * vfio-groups: the IOMMU group rules through ioasidd's device nodes, with
 * two processes fighting for one group. DEV_A and DEV_B are the two devices
 * of one group; the transcript is compared with tests/vm/expected/.
 *
 *   vfio-groups IOMMUFD DEV_A DEV_B
 */
#include <sys/wait.h>

#include "ioasid/ioasidd.h"
#include "vfio_common.h"

static const char* iommufd_path;

static void group_status(int iommufd, uint32_t flags, uint32_t id, const char* step) {
    struct ioasidd_group_status st = {.argsz = sizeof(st), .flags = flags, .id = id};
    int rc = call(iommufd, IOASIDD_GROUP_STATUS, &st);
    printf("%s: GROUP_STATUS -> %s group=%u%s%s%s devices=%u blocking=%u\n", step, err_name(rc),
           st.out_group, st.out_flags & IOASIDD_GROUP_VIABLE ? " viable" : "",
           st.out_flags & IOASIDD_GROUP_OWNED ? " owned" : "",
           st.out_flags & IOASIDD_GROUP_OWNED_ELSEWHERE ? " owned-elsewhere" : "",
           st.out_num_devices, st.out_num_blocking);
}

/* Another process, with its own context, tries to bind `dev_path`. */
static void other_process_binds(const char* dev_path, const char* step) {
    pid_t pid = fork();
    if (pid == 0) {
        int iommufd = open_node(iommufd_path), dev = open_node(dev_path);
        int rc = bind_device(dev, iommufd, NULL);
        printf("%s: other process BIND -> %s\n", step, err_name(rc));
        if (rc) group_status(iommufd, 0, 100000001, step);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
}

static void same_group_same_hwpt(int iommufd, int a, int b) {
    uint32_t ioas1 = ioas_alloc(iommufd, "ioas1"), ioas2 = ioas_alloc(iommufd, "ioas2");
    uint32_t pt = ioas1;
    int rc = attach_device(a, &pt);
    printf("attach.a: ATTACH -> %s pt=%u\n", err_name(rc), pt);
    pt = ioas2;
    printf("attach.b-elsewhere: ATTACH -> %s\n", err_name(attach_device(b, &pt)));
    pt = ioas1;
    rc = attach_device(b, &pt);
    printf("attach.b-same: ATTACH -> %s pt=%u\n", err_name(rc), pt);
    /* A mapping in the group's MSI window, then moving the group there. */
    static char page[4096] __attribute__((aligned(4096)));
    printf("map.msi-window: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas2, (uintptr_t)page, 4096, 0xfee00000)));
    pt = ioas2;
    printf("replace.a-to-reserved: ATTACH -> %s\n", err_name(attach_device(a, &pt)));
    print_ranges(iommufd, ioas1, "ranges.ioas1");
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: vfio-groups IOMMUFD DEV_A DEV_B\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    iommufd_path = argv[1];
    int iommufd = open_node(iommufd_path);
    group_status(iommufd, 0, 100000001, "status.free");
    int a = open_node(argv[2]), b = open_node(argv[3]);
    uint32_t da = 0, db = 0;
    int rc = bind_device(a, iommufd, &da);
    printf("bind.a: BIND -> %s devid=%u\n", err_name(rc), da);
    group_status(iommufd, IOASIDD_GROUP_BY_DEVID, da, "status.bound");
    other_process_binds(argv[3], "fight.sibling");
    other_process_binds(argv[2], "fight.same-device");

    int a2 = open_node(argv[2]);
    printf("bind.a-second-open: BIND -> %s\n", err_name(bind_device(a2, iommufd, NULL)));
    close(a2);
    rc = bind_device(b, iommufd, &db);
    printf("bind.b: BIND -> %s devid=%u\n", err_name(rc), db);
    same_group_same_hwpt(iommufd, a, b);

    /* The context outlives its fd while devices hold it. */
    close(iommufd);
    struct vfio_device_info info = {.argsz = sizeof(info)};
    printf("closed-iommufd.info: GET_INFO -> %s\n", err_name(call(a, VFIO_DEVICE_GET_INFO, &info)));
    other_process_binds(argv[3], "fight.still-held");
    close(a);
    close(b);
    other_process_binds(argv[3], "fight.released");
    return 0;
}
