// Reaching into a client process: its file descriptors (pidfd_getfd) and
// its memory (process_vm_readv/writev). The daemon runs as root, so the
// ptrace-mode checks both make pass; a process that is gone reads as ESRCH.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "devices/irqs.h"
#include "host/unique_fd.h"

namespace ioasid::host {

// A duplicate of process `pid`'s descriptor `fd`: 0, or -EBADF when the
// process has no such descriptor, or the errno of pidfd_open/pidfd_getfd.
int fd_from_process(pid_t pid, int fd, UniqueFd& out);

// 64 random bits from the kernel (getrandom): names no one can guess.
uint64_t random_u64();
// A file's cookie (IOASIDD_FILE_COOKIE): random, and never 0 or ~0, which
// name no file.
uint64_t random_cookie();

// Whether `fd` is an eventfd (as eventfd_ctx_fdget() would accept it).
bool is_eventfd(int fd);

// All or nothing: 0, or -EFAULT when any byte of the range is not mapped in
// the process (or the process is gone).
int process_read(pid_t pid, uint64_t addr, void* dst, uint64_t len);
int process_write(pid_t pid, uint64_t addr, const void* src, uint64_t len);

// An interrupt delivered to the client's eventfd (our duplicate of it).
class EventfdSignal final : public devices::IrqSignal {
  public:
    explicit EventfdSignal(UniqueFd fd) : fd_(std::move(fd)) {}
    void signal() override;

  private:
    UniqueFd fd_;
};

}  // namespace ioasid::host
