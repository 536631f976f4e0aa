// A page of the daemon's followed by one that faults, for a command whose
// data the real device's kernel reads from the daemon: the caller's bytes
// go just before the guard, so that the kernel faults at the same byte as
// it would have in the caller's memory, after the checks it makes first.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace ioasid::dispatch {

class GuardedPage {
  public:
    static constexpr size_t kPage = 4096;
    GuardedPage() {
        void* p =
            ::mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        base_ = static_cast<uint8_t*>(p);
        if (::mprotect(base_ + kPage, kPage, PROT_NONE)) {
            ::munmap(base_, 2 * kPage);
            base_ = nullptr;
        }
    }
    ~GuardedPage() {
        if (base_) ::munmap(base_, 2 * kPage);
    }
    GuardedPage(const GuardedPage&) = delete;
    GuardedPage& operator=(const GuardedPage&) = delete;
    // Where `bytes` go so that the byte after them is the first that
    // faults; null when the page could not be had or they do not fit.
    uint8_t* place(size_t bytes) {
        return base_ && bytes <= kPage ? base_ + kPage - bytes : nullptr;
    }

  private:
    uint8_t* base_ = nullptr;
};

}  // namespace ioasid::dispatch
