/*
 * iommufd-client: drives an iommufd node (the kernel's /dev/iommu or
 * ioasidd's /dev/ioasid) through a fixed walk of the ABI and a seeded random
 * sequence, and prints every answer. Run against both, the transcripts must
 * be identical: that is the conformance test of the VM lane.
 *
 *   iommufd-client [--random N] [--seed S] NODE
 *
 * Written as a VMM would be: plain C, open + ioctl, the upstream structs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioasid/iommufd.h"

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED (IOMMU_IOAS_MAP_FIXED_IOVA)
#define U(v) ((unsigned long long)(v))

static const char* err_name(int rc) {
    if (rc >= 0) return "ok";
    const char* n = strerrorname_np(-rc);
    return n ? n : "E?";
}

static int call(int fd, unsigned long cmd, void* arg) {
    return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int open_node(const char* path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "iommufd-client: open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return fd;
}

static uint32_t ioas_alloc(int fd, const char* step) {
    struct iommu_ioas_alloc a = {.size = sizeof(a)};
    int rc = call(fd, IOMMU_IOAS_ALLOC, &a);
    printf("%s: IOAS_ALLOC -> %s id=%u\n", step, err_name(rc), a.out_ioas_id);
    return a.out_ioas_id;
}

static int map(int fd, const char* step, uint32_t ioas, uint32_t flags, uint64_t va, uint64_t len,
               uint64_t iova) {
    struct iommu_ioas_map m = {.size = sizeof(m),
                               .flags = flags,
                               .ioas_id = ioas,
                               .user_va = va,
                               .length = len,
                               .iova = iova};
    int rc = call(fd, IOMMU_IOAS_MAP, &m);
    printf(
        "%s: IOAS_MAP flags=%#x va=%#"
        "llx"
        " len=%#"
        "llx"
        " -> %s iova=%#"
        "llx"
        "\n",
        step, flags, U(va), U(len), err_name(rc), U(m.iova));
    return rc;
}

static int unmap(int fd, const char* step, uint32_t ioas, uint64_t iova, uint64_t len) {
    struct iommu_ioas_unmap u = {.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len};
    int rc = call(fd, IOMMU_IOAS_UNMAP, &u);
    printf(
        "%s: IOAS_UNMAP iova=%#"
        "llx"
        " -> %s length=%#"
        "llx"
        "\n",
        step, U(iova), err_name(rc), U(u.length));
    return rc;
}

static void ranges(int fd, const char* step, uint32_t ioas, uint32_t num) {
    struct iommu_iova_range r[8];
    memset(r, 0xee, sizeof(r));
    struct iommu_ioas_iova_ranges q = {
        .size = sizeof(q), .ioas_id = ioas, .num_iovas = num, .allowed_iovas = (uintptr_t)r};
    int rc = call(fd, IOMMU_IOAS_IOVA_RANGES, &q);
    printf(
        "%s: IOVA_RANGES num=%u -> %s num=%u align=%#"
        "llx",
        step, num, err_name(rc), q.num_iovas, U(q.out_iova_alignment));
    for (uint32_t i = 0; i < num && i < 8; i++)
        printf(
            " [%#"
            "llx"
            ",%#"
            "llx"
            "]",
            U(r[i].start), U(r[i].last));
    printf("\n");
}

static int allow(int fd, const char* step, uint32_t ioas, const struct iommu_iova_range* r,
                 uint32_t n) {
    struct iommu_ioas_allow_iovas a = {
        .size = sizeof(a), .ioas_id = ioas, .num_iovas = n, .allowed_iovas = (uintptr_t)r};
    int rc = call(fd, IOMMU_IOAS_ALLOW_IOVAS, &a);
    printf("%s: ALLOW_IOVAS n=%u -> %s\n", step, n, err_name(rc));
    return rc;
}

static int copy(int fd, const char* step, uint32_t dst, uint32_t src, uint32_t flags,
                uint64_t src_iova, uint64_t len, uint64_t dst_iova) {
    struct iommu_ioas_copy c = {.size = sizeof(c),
                                .flags = flags,
                                .dst_ioas_id = dst,
                                .src_ioas_id = src,
                                .length = len,
                                .dst_iova = dst_iova,
                                .src_iova = src_iova};
    int rc = call(fd, IOMMU_IOAS_COPY, &c);
    printf(
        "%s: IOAS_COPY src=%#"
        "llx"
        " len=%#"
        "llx"
        " -> %s dst=%#"
        "llx"
        "\n",
        step, U(src_iova), U(len), err_name(rc), U(c.dst_iova));
    return rc;
}

static int option(int fd, const char* step, uint32_t id, uint16_t op, uint32_t obj, uint64_t val) {
    struct iommu_option o = {
        .size = sizeof(o), .option_id = id, .op = op, .object_id = obj, .val64 = val};
    int rc = call(fd, IOMMU_OPTION, &o);
    printf(
        "%s: OPTION id=%u op=%u obj=%u -> %s val=%"
        "llu"
        "\n",
        step, id, op, obj, err_name(rc), U(o.val64));
    return rc;
}

static int vfio_ioas(int fd, const char* step, uint16_t op, uint32_t id) {
    struct iommu_vfio_ioas v = {.size = sizeof(v), .ioas_id = id, .op = op};
    int rc = call(fd, IOMMU_VFIO_IOAS, &v);
    printf("%s: VFIO_IOAS op=%u -> %s id=%u\n", step, op, err_name(rc), v.ioas_id);
    return rc;
}

static int destroy(int fd, const char* step, uint32_t id) {
    struct iommu_destroy d = {.size = sizeof(d), .id = id};
    int rc = call(fd, IOMMU_DESTROY, &d);
    printf("%s: DESTROY id=%u -> %s\n", step, id, err_name(rc));
    return rc;
}

/* Struct sizes and the zero-tail rule, bad pointers, unknown commands. */
static void walk_argument_rules(int fd) {
    unsigned char big[4096] = {0};
    struct iommu_ioas_alloc* a = (void*)big;
    int rc;

    a->size = 8;
    rc = call(fd, IOMMU_IOAS_ALLOC, a);
    printf("args.short: IOAS_ALLOC size=8 -> %s\n", err_name(rc));
    a->size = sizeof(big);
    rc = call(fd, IOMMU_IOAS_ALLOC, a);
    printf("args.zero_tail: IOAS_ALLOC size=4096 -> %s id=%u\n", err_name(rc), a->out_ioas_id);
    a->size = 16;
    big[13] = 1;
    rc = call(fd, IOMMU_IOAS_ALLOC, a);
    printf("args.tail: IOAS_ALLOC size=16 tail!=0 -> %s\n", err_name(rc));
    big[13] = 0;
    a->flags = 2;
    rc = call(fd, IOMMU_IOAS_ALLOC, a);
    printf("args.flags: IOAS_ALLOC flags=2 -> %s\n", err_name(rc));
    a->flags = 0;
    rc = call(fd, IOMMU_IOAS_ALLOC, (void*)16);
    printf("args.efault: IOAS_ALLOC arg=0x10 -> %s\n", err_name(rc));
    rc = call(fd, _IO(IOMMUFD_TYPE, 0x8f), a);
    printf("args.unknown: cmd 0x8f -> %s\n", err_name(rc));
    rc = call(fd, _IOW(IOMMUFD_TYPE, 0x80, uint64_t), a);
    printf("args.dirbits: _IOW(';',0x80) -> %s\n", err_name(rc));
    rc = call(fd, _IO('x', 0x80), a);
    printf("args.type: _IO('x',0x80) -> %s\n", err_name(rc));
    destroy(fd, "args.cleanup", a->out_ioas_id);
}

static void walk_map_unmap(int fd, uint32_t ioas, char* buf) {
    uint64_t va = (uintptr_t)buf;
    map(fd, "map.fixed", ioas, RW | FIXED, va, 0x10000, 0x100000);
    map(fd, "map.overlap", ioas, RW | FIXED, va, 0x1000, 0x10f000);
    map(fd, "map.noprot", ioas, FIXED, va, 0x1000, 0x200000);
    map(fd, "map.badflag", ioas, RW | 8, va, 0x1000, 0);
    map(fd, "map.overflow", ioas, RW | FIXED, va, 0x1000, UINT64_MAX);
    map(fd, "map.wrap", ioas, RW | FIXED, va, 0x2000, UINT64_MAX - 0xfff);
    map(fd, "map.zero", ioas, RW, va, 0, 0);
    map(fd, "map.noioas", 77, RW, va, 0x1000, 0);
    map(fd, "map.alloc2m", ioas, RW, va + 0x200000, 0x200000, 0);
    map(fd, "map.alloc_off", ioas, RW, va + 0x10, 0x1000, 0);
    map(fd, "map.alloc_nullva", ioas, RW, 0, 0x3000, 0);
    map(fd, "map.readonly", ioas, IOMMU_IOAS_MAP_READABLE, va + 0x400000, 0x4000, 0);
    ranges(fd, "map.ranges0", ioas, 0);
    ranges(fd, "map.ranges4", ioas, 4);
    unmap(fd, "unmap.partial", ioas, 0x100000, 0x1000);
    unmap(fd, "unmap.exact", ioas, 0x100000, 0x10000);
    unmap(fd, "unmap.again", ioas, 0x100000, 0x10000);
    unmap(fd, "unmap.zero", ioas, 0x100000, 0);
    unmap(fd, "unmap.overflow", ioas, 2, UINT64_MAX - 1);
    unmap(fd, "unmap.all", ioas, 0, UINT64_MAX);
    unmap(fd, "unmap.all_empty", ioas, 0, UINT64_MAX);
}

static void walk_allowed(int fd, uint32_t ioas, char* buf) {
    uint64_t va = (uintptr_t)buf;
    struct iommu_iova_range good[2] = {{0x10000000, 0x1fffffff}, {0x40000000, 0x4000ffff}};
    struct iommu_iova_range inverted[1] = {{0x2000, 0x1000}};
    struct iommu_iova_range overlap[2] = {{0x1000, 0x2fff}, {0x2000, 0x3fff}};
    allow(fd, "allow.good", ioas, good, 2);
    map(fd, "allow.map", ioas, RW, va, 0x100000, 0);
    map(fd, "allow.map_fixed_outside", ioas, RW | FIXED, va, 0x1000, 0x1000);
    map(fd, "allow.map_nospace", ioas, RW, va, 0x20000000, 0);
    allow(fd, "allow.inverted", ioas, inverted, 1);
    allow(fd, "allow.overlap", ioas, overlap, 2);
    allow(fd, "allow.efault", ioas, (void*)16, 1);
    allow(fd, "allow.clear", ioas, NULL, 0);
    map(fd, "allow.map_after_clear", ioas, RW, va, 0x100000, 0);
    ranges(fd, "allow.ranges", ioas, 2);
    unmap(fd, "allow.cleanup", ioas, 0, UINT64_MAX);
}

static void walk_copy(int fd, uint32_t a, char* buf) {
    uint64_t va = (uintptr_t)buf;
    uint32_t b = ioas_alloc(fd, "copy.alloc");
    map(fd, "copy.src1", a, RW | FIXED, va, 0x4000, 0x100000);
    map(fd, "copy.src2", a, IOMMU_IOAS_MAP_READABLE | FIXED, va + 0x8000, 0x2000, 0x104000);
    copy(fd, "copy.sub", b, a, RW | FIXED, 0x101000, 0x2000, 0x800000);
    copy(fd, "copy.span_rw", b, a, RW, 0x103000, 0x2000, 0);
    copy(fd, "copy.span_ro", b, a, IOMMU_IOAS_MAP_READABLE, 0x103000, 0x2000, 0);
    copy(fd, "copy.hole", b, a, RW, 0x105000, 0x2000, 0);
    copy(fd, "copy.zero", b, a, RW, 0x100000, 0, 0);
    copy(fd, "copy.noprot", b, a, 0, 0x100000, 0x1000, 0);
    copy(fd, "copy.nodst", 99, a, RW, 0x100000, 0x1000, 0);
    copy(fd, "copy.overlap", b, a, RW | FIXED, 0x100000, 0x1000, 0x801000);
    ranges(fd, "copy.ranges", b, 1);
    unmap(fd, "copy.unmap_b", b, 0, UINT64_MAX);
    unmap(fd, "copy.unmap_a", a, 0, UINT64_MAX);
    destroy(fd, "copy.destroy", b);
}

static void walk_options(int fd, uint32_t ioas, char* buf) {
    uint64_t va = (uintptr_t)buf;
    option(fd, "opt.huge_get", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 0);
    map(fd, "opt.unaligned_map", ioas, RW | FIXED, va + 0x800, 0x800, 0x1800);
    option(fd, "opt.huge_off_busy", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 0);
    unmap(fd, "opt.unmap", ioas, 0, UINT64_MAX);
    option(fd, "opt.huge_off", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 0);
    ranges(fd, "opt.ranges", ioas, 1);
    map(fd, "opt.unaligned_now", ioas, RW | FIXED, va, 0x1000, 0x1800);
    option(fd, "opt.huge_bad", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 2);
    option(fd, "opt.huge_on", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, 1);
    option(fd, "opt.huge_noobj", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 1234, 0);
    option(fd, "opt.huge_badop", IOMMU_OPTION_HUGE_PAGES, 7, ioas, 0);
    option(fd, "opt.unknown", 9, IOMMU_OPTION_OP_GET, 0, 0);
    option(fd, "opt.rlimit_get", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0);
    option(fd, "opt.rlimit_obj", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, 0);
    option(fd, "opt.rlimit_busy", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
}

static void walk_vfio_ioas_and_ids(int fd, const char* node) {
    uint32_t a = ioas_alloc(fd, "ids.a"), b = ioas_alloc(fd, "ids.b");
    vfio_ioas(fd, "vfio.get_none", IOMMU_VFIO_IOAS_GET, 0);
    vfio_ioas(fd, "vfio.set_bad", IOMMU_VFIO_IOAS_SET, 999);
    vfio_ioas(fd, "vfio.set", IOMMU_VFIO_IOAS_SET, b);
    vfio_ioas(fd, "vfio.get", IOMMU_VFIO_IOAS_GET, 0);
    vfio_ioas(fd, "vfio.badop", 3, 0);
    destroy(fd, "ids.destroy_b", b);
    vfio_ioas(fd, "vfio.get_after_destroy", IOMMU_VFIO_IOAS_GET, 0);
    destroy(fd, "ids.destroy_again", b);
    destroy(fd, "ids.destroy_zero", 0);
    ioas_alloc(fd, "ids.reuse");
    destroy(fd, "ids.destroy_a", a);

    int fd2 = open_node(node);
    ioas_alloc(fd2, "ctx.second_context");
    option(fd2, "ctx.rlimit_set_busy", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
    close(fd2);
    fd2 = open_node(node);
    option(fd2, "ctx.rlimit_set_bad", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 2);
    option(fd2, "ctx.rlimit_set", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 1);
    option(fd2, "ctx.rlimit_get", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0);
    close(fd2);
}

/* A seeded random walk: the same seed gives the same calls on every node. */
static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t rnd_len(void) {
    switch (rnd() % 4) {
        case 0:
            return (1 + rnd() % 16) << 12;
        case 1:
            return (1 + rnd() % 4) << 21;
        case 2:
            return 1 + rnd() % 0x3000;
        default:
            return (rnd() % 64) << 12;
    }
}

static uint64_t rnd_addr(void) {
    switch (rnd() % 4) {
        case 0:
            return (rnd() % 0x400) << 12;
        case 1:
            return (rnd() % 64) << 21;
        case 2:
            return rnd() % 0x1000000;
        default:
            return 0x7f0000000000ull + ((rnd() % 0x1000) << 12) + (rnd() % 2 ? rnd() % 0x1000 : 0);
    }
}

static void random_walk(int fd, unsigned steps) {
    uint32_t ids[3];
    char step[64];
    for (int i = 0; i < 3; i++) ids[i] = ioas_alloc(fd, "rnd.alloc");
    for (unsigned s = 0; s < steps; s++) {
        uint32_t ioas = ids[rnd() % 3];
        uint32_t flags = (uint32_t)(rnd() % 8);
        snprintf(step, sizeof(step), "rnd.%u", s);
        switch (rnd() % 10) {
            case 0:
            case 1:
            case 2:
                map(fd, step, ioas, flags, rnd_addr(), rnd_len(), rnd_addr());
                break;
            case 3:
            case 4:
                unmap(fd, step, ioas, rnd_addr(), rnd_len());
                break;
            case 5:
                copy(fd, step, ioas, ids[rnd() % 3], flags, rnd_addr(), rnd_len(), rnd_addr());
                break;
            case 6: {
                struct iommu_iova_range r[3];
                uint32_t n = (uint32_t)(rnd() % 4);
                for (uint32_t i = 0; i < n; i++) {
                    r[i].start = rnd_addr();
                    r[i].last = r[i].start + rnd_len() * (1 + rnd() % 64);
                }
                allow(fd, step, ioas, r, n);
                break;
            }
            case 7:
                ranges(fd, step, ioas, (uint32_t)(rnd() % 3));
                break;
            case 8:
                option(fd, step, IOMMU_OPTION_HUGE_PAGES, (uint16_t)(rnd() % 2), ioas, rnd() % 2);
                break;
            default:
                if (rnd() % 4 == 0)
                    unmap(fd, step, ioas, 0, UINT64_MAX);
                else
                    ranges(fd, step, ioas, 1);
        }
    }
}

int main(int argc, char** argv) {
    unsigned steps = 2000;
    rng_state = 0x5eed1234abcdull;
    int i = 1;
    for (; i < argc - 1; i += 2) {
        if (!strcmp(argv[i], "--random"))
            steps = (unsigned)strtoul(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--seed"))
            rng_state = strtoull(argv[i + 1], NULL, 0) | 1;
        else
            break;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: iommufd-client [--random N] [--seed S] NODE\n");
        return 2;
    }
    const char* node = argv[i];
    /* Fixed user addresses: the allocator's choices depend on them. */
    char* buf = mmap((void*)0x7f1200000000ull, 8 << 20, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (buf == MAP_FAILED) {
        perror("iommufd-client: mmap");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = open_node(node);
    walk_argument_rules(fd);
    uint32_t ioas = ioas_alloc(fd, "main.alloc");
    ranges(fd, "main.ranges_fresh", ioas, 1);
    walk_map_unmap(fd, ioas, buf);
    walk_allowed(fd, ioas, buf);
    walk_copy(fd, ioas, buf);
    walk_options(fd, ioas, buf);
    destroy(fd, "main.destroy", ioas);
    walk_vfio_ioas_and_ids(fd, node);
    random_walk(fd, steps);
    close(fd);
    return 0;
}
