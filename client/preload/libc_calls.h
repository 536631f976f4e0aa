// The calls the preload library stands in front of, as libc (or whatever
// comes after it in the lookup order) defines them: every fd that is not
// ioasidd's goes straight there.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

struct msghdr;

namespace ioasid::preload {

struct LibcCalls {
    ssize_t (*pread64)(int, void*, size_t, off_t);
    ssize_t (*pwrite64)(int, const void*, size_t, off_t);
    ssize_t (*pread64_chk)(int, void*, size_t, off_t, size_t);
    ssize_t (*pread_chk)(int, void*, size_t, off_t, size_t);
    ssize_t (*preadv64)(int, const iovec*, int, off_t);
    ssize_t (*pwritev64)(int, const iovec*, int, off_t);
    ssize_t (*preadv64v2)(int, const iovec*, int, off_t, int);
    ssize_t (*pwritev64v2)(int, const iovec*, int, off_t, int);
    int (*ioctl)(int, unsigned long, ...);
    int (*close)(int);
    int (*close_range)(unsigned, unsigned, int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*open64)(const char*, int, ...);
    int (*openat64)(int, const char*, int, ...);
    int (*open64_2)(const char*, int);
    int (*openat64_2)(int, const char*, int);
    ssize_t (*recvmsg)(int, msghdr*, int);
    void* (*mmap64)(void*, size_t, int, int, int, off_t);
};

// Resolved once, on first use, with dlsym(RTLD_NEXT). On x86_64 pread and
// pread64 (and the other pairs) are one function under two names, so one
// pointer serves both.
const LibcCalls& libc();

}  // namespace ioasid::preload
