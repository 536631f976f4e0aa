/* The legacy group and container API as QEMU 7.2 and older VMMs use it,
 * with its errors: GET_STATUS, SET_CONTAINER, SET_IOMMU, MAP_DMA,
 * GET_DEVICE_FD and UNSET_CONTAINER, a second container, GET_DEVICE_FD
 * before SET_IOMMU, a wrong device name, and closing the group with the
 * device open. The same program runs against the kernel's /dev/vfio/N and
 * /dev/vfio/vfio, and through libioasid-preload.so against ioasidd's
 * group (ioasid-run), so the transcripts compare: it prints no number that
 * names the group or the device.
 *
 *   vfio-legacy SYSFSDEV   (the device's directory: its iommu_group link
 *                           names the group, its last part the device)
 *   vfio-legacy --not-viable SYSFSDEV
 *                          (a group another device of which a kernel driver
 *                           holds: what its group still answers)
 */
#include <libgen.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "vfio_common.h"

/* An IOMMU type no x86 kernel serves (include/uapi/linux/vfio.h). */
#define SPAPR_TCE_IOMMU 2

static int open_path(const char* path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Another process's open of the group, from a child. */
static void other_process_open(const char* path, const char* step) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        int fd = open_path(path);
        printf("%s: %s\n", step, err_name(fd < 0 ? fd : 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}

static void status(int group, const char* step) {
    struct vfio_group_status st = {.argsz = sizeof(st)};
    int rc = call(group, VFIO_GROUP_GET_STATUS, &st);
    printf("%s: GET_STATUS -> %s%s%s\n", step, err_name(rc),
           rc == 0 && (st.flags & VFIO_GROUP_FLAGS_VIABLE) ? " viable" : "",
           rc == 0 && (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) ? " container-set" : "");
}

static int set_container(int group, int container) {
    return call(group, VFIO_GROUP_SET_CONTAINER, &container);
}

static int get_device(int group, const char* name, const char* step) {
    int fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
    printf("%s: GET_DEVICE_FD -> %s\n", step, err_name(fd < 0 ? -errno : 0));
    return fd;
}

static int map_dma(int container, void* va, uint64_t iova, uint64_t len) {
    struct vfio_iommu_type1_dma_map m = {.argsz = sizeof(m),
                                         .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = (uintptr_t)va,
                                         .iova = iova,
                                         .size = len};
    return call(container, VFIO_IOMMU_MAP_DMA, &m);
}

static void device_info(int dev, const char* step) {
    struct vfio_device_info info = {.argsz = sizeof(info)};
    int rc = call(dev, VFIO_DEVICE_GET_INFO, &info);
    printf("%s: GET_INFO -> %s flags=0x%x regions=%u irqs=%u\n", step, err_name(rc),
           rc ? 0 : info.flags, rc ? 0 : info.num_regions, rc ? 0 : info.num_irqs);
}

static void container_checks(int c, const char* step) {
    printf("%s: GET_API_VERSION -> %d\n", step, ioctl(c, VFIO_GET_API_VERSION));
    printf(
        "%s: CHECK_EXTENSION TYPE1 -> %d TYPE1v2 -> %d UNMAP_ALL -> %d DMA_CC -> %d "
        "SPAPR -> %d\n",
        step, ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU),
        ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU),
        ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL),
        ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU),
        ioctl(c, VFIO_CHECK_EXTENSION, SPAPR_TCE_IOMMU));
}

static void iommu_info(int c, const char* step) {
    struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
    int rc = call(c, VFIO_IOMMU_GET_INFO, &info);
    printf("%s: IOMMU_GET_INFO -> %s flags=0x%x pgsizes=0x%llx caps=%s\n", step, err_name(rc),
           rc ? 0 : info.flags, rc ? 0 : U(info.iova_pgsizes),
           rc == 0 && info.argsz > sizeof(info) ? "more" : "none");
}

/* A group that is not viable opens, says so, and takes no container. */
static int not_viable(const char* dir) {
    char path[64];
    char* copy = strdup(dir);
    snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(dir));
    int group = open_path(path);
    printf("not-viable.open: %s\n", err_name(group < 0 ? group : 0));
    if (group < 0) return 1;
    status(group, "not-viable.status");
    int c = open_path("/dev/vfio/vfio");
    printf("not-viable.set-container: SET_CONTAINER -> %s\n", err_name(set_container(group, c)));
    status(group, "not-viable.status-after");
    printf("not-viable.set-iommu: SET_IOMMU -> %s\n",
           err_name(call(c, VFIO_SET_IOMMU, (void*)VFIO_TYPE1v2_IOMMU)));
    int dev = get_device(group, basename(copy), "not-viable.device");
    if (dev >= 0) close(dev);
    close(c);
    close(group);
    free(copy);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "--not-viable") == 0) return not_viable(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: vfio-legacy [--not-viable] SYSFSDEV\n");
        return 2;
    }
    char path[64], wrong[64];
    char* copy = strdup(argv[1]);
    const char* name = basename(copy);
    snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(argv[1]));
    snprintf(wrong, sizeof(wrong), "%.7s:1f.7", name);
    const size_t len = 2 * 4096;
    void* buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    int group = open_path(path);
    printf("open.group: %s\n", err_name(group < 0 ? group : 0));
    if (group < 0) return 1;
    int again = open_path(path);
    printf("open.group-again: %s\n", err_name(again < 0 ? again : 0));
    if (again >= 0) close(again);
    other_process_open(path, "other-process.open-group");
    status(group, "status.fresh");
    int dev = get_device(group, name, "device.before-container");
    if (dev >= 0) close(dev);

    int c = open_path("/dev/vfio/vfio");
    printf("open.container: %s\n", err_name(c < 0 ? c : 0));
    if (c < 0) return 1;
    container_checks(c, "container.fresh");
    printf("container.set-iommu-no-group: SET_IOMMU -> %s\n",
           err_name(call(c, VFIO_SET_IOMMU, (void*)VFIO_TYPE1v2_IOMMU)));
    printf("container.map-no-iommu: MAP_DMA -> %s\n", err_name(map_dma(c, buf, 0x100000, len)));
    printf("group.set-container: SET_CONTAINER -> %s\n", err_name(set_container(group, c)));
    status(group, "status.set");
    int c2 = open_path("/dev/vfio/vfio");
    printf("group.second-container: SET_CONTAINER -> %s\n", err_name(set_container(group, c2)));
    close(c2);
    dev = get_device(group, name, "device.before-set-iommu");
    if (dev >= 0) close(dev);
    printf("container.map-before-set-iommu: MAP_DMA -> %s\n",
           err_name(map_dma(c, buf, 0x100000, len)));
    printf("container.set-iommu-bad-type: SET_IOMMU(SPAPR) -> %s\n",
           err_name(call(c, VFIO_SET_IOMMU, (void*)SPAPR_TCE_IOMMU)));
    printf("container.set-iommu: SET_IOMMU -> %s\n",
           err_name(call(c, VFIO_SET_IOMMU, (void*)VFIO_TYPE1v2_IOMMU)));
    printf("container.set-iommu-again: SET_IOMMU -> %s\n",
           err_name(call(c, VFIO_SET_IOMMU, (void*)VFIO_TYPE1v2_IOMMU)));
    container_checks(c, "container.set");
    iommu_info(c, "container.info");
    printf("container.map: MAP_DMA -> %s\n", err_name(map_dma(c, buf, 0x100000, len)));
    printf("container.map-again: MAP_DMA -> %s\n", err_name(map_dma(c, buf, 0x100000, len)));

    dev = get_device(group, wrong, "device.wrong-name");
    if (dev >= 0) close(dev);
    dev = get_device(group, name, "device.open");
    if (dev < 0) return 1;
    device_info(dev, "device.open");
    printf("device.bind: BIND_IOMMUFD -> %s\n", err_name(bind_device(dev, c, NULL)));
    printf("group.unset-busy: UNSET_CONTAINER -> %s\n",
           err_name(call(group, VFIO_GROUP_UNSET_CONTAINER, NULL)));
    printf("group.close-with-device: close -> %s\n", err_name(close(group) ? -errno : 0));
    group = open_path(path);
    printf("group.reopen-with-device: %s\n", err_name(group < 0 ? group : 0));
    if (group >= 0) close(group);
    device_info(dev, "device.after-group-close");
    close(dev);

    group = open_path(path);
    printf("group.reopen: %s\n", err_name(group < 0 ? group : 0));
    if (group < 0) return 1;
    status(group, "status.reopened");
    printf("container.map-after-last-group: MAP_DMA -> %s\n",
           err_name(map_dma(c, buf, 0x200000, len)));
    printf("group.unset-none: UNSET_CONTAINER -> %s\n",
           err_name(call(group, VFIO_GROUP_UNSET_CONTAINER, NULL)));
    printf("group.set-container-again: SET_CONTAINER -> %s\n", err_name(set_container(group, c)));
    printf("group.unset: UNSET_CONTAINER -> %s\n",
           err_name(call(group, VFIO_GROUP_UNSET_CONTAINER, NULL)));
    printf("group.set-not-container: SET_CONTAINER(a group fd) -> %s\n",
           err_name(set_container(group, group)));
    close(group);
    close(c);
    other_process_open(path, "other-process.open-after-close");
    free(copy);
    return 0;
}
