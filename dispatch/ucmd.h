// One user command in flight: the kernel's struct iommufd_ucmd.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/user_memory.h"
#include "model/context.h"
#include "model/ioas.h"

namespace ioasid::dispatch {

// The kernel's copy_struct_from_user(): a smaller user struct is zero-extended;
// a larger one is accepted only if the bytes the kernel does not know are zero
// (else -E2BIG). The tail is checked before the struct is copied.
int copy_struct_from_user(void* dst, size_t ksize, UserMemory& mem, uint64_t src, size_t usize);

// The largest command struct (IOMMU_TEST_CMD's is 72 bytes).
inline constexpr size_t kMaxCommandSize = 80;

// Handlers read all the user memory they need before they change anything:
// the retry transport relies on it to re-ask for memory safely.
struct Ucmd {
    model::Context& ctx;
    UserMemory& mem;
    Caller& caller;
    uint64_t arg;
    uint32_t user_size;
    alignas(8) unsigned char buf[kMaxCommandSize];

    template <typename T>
    T& cmd() {
        static_assert(sizeof(T) <= sizeof(buf));
        return *reinterpret_cast<T*>(buf);
    }

    // iommufd_ucmd_respond(): the struct goes back, cut to the user's size.
    int respond(size_t len) { return mem.write(arg, buf, std::min<size_t>(user_size, len)); }
};

// iopt_fill_domains_pages(): with a domain to fill, the kernel pins a new
// area's pages as it maps it, and memory that is not there (or not writable,
// for a writable map) is EFAULT and the area goes again. For an emulated
// domain ioasidd pins nothing (the IOAS's domain pins only charge) but asks
// the caller's memory the same question. A VFIO container mirroring the
// IOAS answers for itself: its MAP_DMA pins.
inline int pin_new_area(model::Ioas& ioas, Caller& caller, uint64_t iova, uint64_t user_va,
                        uint64_t length, bool write) {
    if (!ioas.domains() || ioas.mirrors()) return 0;
    if (!caller.pinnable(user_va, length, write)) return 0;
    uint64_t unmapped;
    ioas.unmap(iova, length, unmapped);
    return -EFAULT;
}

}  // namespace ioasid::dispatch
