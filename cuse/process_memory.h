// The calling thread's memory, read and written in place with
// process_vm_readv/writev: the one-round-trip path of an ioctl.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

class ProcessMemory final : public dispatch::UserMemory {
  public:
    explicit ProcessMemory(pid_t tid) : tid_(tid) {}

    int read(uint64_t addr, void* dst, size_t len) override;
    int write(uint64_t addr, const void* src, size_t len) override;

    // True when the kernel refused us the caller's memory (no ptrace right,
    // or the thread is gone) rather than the address being bad.
    bool denied() const { return denied_; }
    // True once any byte moved: a denial after that cannot be retried.
    bool touched() const { return touched_; }

  private:
    // The first read of a command is its struct: fetch a little past it in
    // the same system call so the struct's own read costs nothing more.
    static constexpr size_t kReadAhead = 64;
    static constexpr uint64_t kPage = 4096;  // the smallest page: x86-64's

    pid_t tid_;
    bool denied_ = false;
    bool touched_ = false;
    uint64_t cache_addr_ = 0;
    size_t cache_len_ = 0;
    unsigned char cache_[kReadAhead];

    int transfer(bool write, uint64_t addr, void* buf, size_t len);
};

}  // namespace ioasid::cuse
