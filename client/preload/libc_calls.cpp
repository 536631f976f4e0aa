#include "libc_calls.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace ioasid::preload {
namespace {

template <typename F>
void resolve(F& slot, const char* name, bool required = true) {
    slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
    if (!slot && required) {
        // Without the real call nothing can be forwarded: stopping is the
        // only answer that does not corrupt the program's I/O.
        std::fprintf(stderr, "libioasid-preload: no %s after this library: %s\n", name, dlerror());
        std::abort();
    }
}

LibcCalls load() {
    LibcCalls c{};
    resolve(c.pread64, "pread64");
    resolve(c.pwrite64, "pwrite64");
    resolve(c.pread64_chk, "__pread64_chk");
    resolve(c.pread_chk, "__pread_chk");
    resolve(c.preadv64, "preadv64");
    resolve(c.pwritev64, "pwritev64");
    resolve(c.preadv64v2, "preadv64v2");
    resolve(c.pwritev64v2, "pwritev64v2");
    resolve(c.ioctl, "ioctl");
    resolve(c.close, "close");
    resolve(c.close_range, "close_range", false);  // glibc 2.34 and later
    resolve(c.dup, "dup");
    resolve(c.dup2, "dup2");
    resolve(c.dup3, "dup3");
    resolve(c.fcntl, "fcntl64", false);
    if (!c.fcntl) resolve(c.fcntl, "fcntl");
    resolve(c.open64, "open64");
    resolve(c.openat64, "openat64");
    resolve(c.open64_2, "__open64_2");
    resolve(c.openat64_2, "__openat64_2");
    resolve(c.recvmsg, "recvmsg");
    resolve(c.mmap64, "mmap64");
    return c;
}

}  // namespace

const LibcCalls& libc() {
    static const LibcCalls calls = load();
    return calls;
}

}  // namespace ioasid::preload
