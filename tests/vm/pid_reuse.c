/*
 * pid-reuse: an area belongs to the process that mapped it, not to its pid.
 * The mapper maps a buffer for the edu and exits while its child keeps the
 * descriptors; a new process then gets the mapper's pid (clone3 with
 * set_tid) and maps memory of its own at the same address. A DMA into the
 * dead mapper's area must not reach the new process; a DMA into the child's
 * own area still works.
 *
 *   pid-reuse IOMMUFD DEVICE    (as root: set_tid needs CAP_SYS_ADMIN)
 */
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "edu.h"

#define AREA ((void*)0x7e0000000000ull)
#define AREA_IOVA 0x100000ull
#define OWN_IOVA 0x200000ull

static void* fixed_buffer(void* at, int fill) {
    void* p = mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != at) die("mmap", (uintptr_t)at);
    memset(p, fill, 4096);
    return p;
}

static void wait_for(int fd) {
    char c;
    if (read(fd, &c, 1) != 1) die("sync", 0);
}

static void post(int fd) {
    if (write(fd, "x", 1) != 1) die("sync", 0);
}

/* The child left holding the descriptors: fills the edu from its own area,
 * then has the edu write into the mapper's area and into its own. */
static void holder(int dev, int iommufd, uint32_t ioas, int go, int done) {
    wait_for(go);
    uint8_t* own = fixed_buffer((void*)0x7e0000100000ull, 'P');
    printf("holder.map-own: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)own, 4096, OWN_IOVA)));
    edu_dma(dev, OWN_IOVA, 0);
    memset(own + 2048, 0, DMA_LEN);
    edu_dma(dev, AREA_IOVA, 1);
    edu_dma(dev, OWN_IOVA + 2048, 1);
    printf("holder.dma-own-area: %s\n", own[2048] == 'P' ? "reached" : "did not reach");
    post(done);
}

/* The mapper: binds the edu, maps AREA, leaves a child holding it all. */
static void mapper(const char* iommufd_path, const char* dev_path, int go, int done) {
    int iommufd = open_node(iommufd_path), dev = open_node(dev_path);
    uint32_t devid = 0;
    printf("mapper.bind: BIND -> %s\n", err_name(bind_device(dev, iommufd, &devid)));
    uint32_t ioas = ioas_alloc(iommufd, "mapper.ioas"), pt = ioas;
    printf("mapper.attach: ATTACH -> %s\n", err_name(attach_device(dev, &pt)));
    uint16_t cmd = 0x6; /* memory decode and bus master */
    ioasid_pwrite(dev, &cmd, 2, CONFIG + 4);
    fixed_buffer(AREA, 'A');
    printf("mapper.map: IOAS_MAP -> %s\n",
           err_name(map_fixed(iommufd, ioas, (uintptr_t)AREA, 4096, AREA_IOVA)));
    pid_t child = fork();
    if (child < 0) die("fork", 0);
    if (child == 0) {
        holder(dev, iommufd, ioas, go, done);
        _exit(0);
    }
    _exit(0);
}

/* A process with pid `pid`: its own memory at AREA, checked when told. */
static pid_t victim(pid_t pid, int ready, int check) {
    struct clone_args args = {
        .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&pid, .set_tid_size = 1};
    pid_t got = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (got < 0) die("clone3 with the mapper's pid", (unsigned long long)pid);
    if (got > 0) return got;
    uint8_t* mine = fixed_buffer(AREA, 'V');
    post(ready);
    wait_for(check);
    int untouched = 1;
    for (int i = 0; i < 4096; i++) untouched &= mine[i] == 'V';
    printf("victim.memory: %s\n", untouched ? "untouched" : "written by the device");
    _exit(0);
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pid-reuse IOMMUFD DEVICE\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* the holder comes back to us */
    int go[2], done[2], ready[2], check[2];
    if (pipe(go) || pipe(done) || pipe(ready) || pipe(check)) die("pipe", 0);
    pid_t mapper_pid = fork();
    if (mapper_pid < 0) die("fork", 0);
    if (mapper_pid == 0) mapper(argv[1], argv[2], go[0], done[1]);
    if (waitpid(mapper_pid, NULL, 0) != mapper_pid) die("waitpid", 0);
    pid_t v = victim(mapper_pid, ready[1], check[0]);
    wait_for(ready[0]);
    printf("victim: has the mapper's pid (%s), its own memory at the mapper's address\n",
           v == mapper_pid ? "yes" : "no");
    post(go[1]);
    wait_for(done[0]);
    post(check[1]);
    while (wait(NULL) > 0) {
    }
    return 0;
}
