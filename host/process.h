// Reaching into a client process: its file descriptors (pidfd_getfd) and
// its memory (process_vm_readv/writev). The daemon runs as root, so the
// ptrace-mode checks both make pass; a process that is gone reads as ESRCH.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "devices/irqs.h"
#include "host/unique_fd.h"

namespace ioasid::host {

// A duplicate of process `pid`'s descriptor `fd`: 0, or -EBADF when the
// process has no such descriptor, or the errno of pidfd_open/pidfd_getfd.
int fd_from_process(pid_t pid, int fd, UniqueFd& out);

// Whether `fd` is an eventfd (as eventfd_ctx_fdget() would accept it).
bool is_eventfd(int fd);

// All or nothing: 0, or -EFAULT when any byte of the range is not mapped in
// the process (or the process is gone).
int process_read(pid_t pid, uint64_t addr, void* dst, uint64_t len);
int process_write(pid_t pid, uint64_t addr, const void* src, uint64_t len);

// A range of a client's memory mapped into the daemon, sharing its pages:
// what a VFIO container (which pins the daemon's own memory) needs to map
// the client's memory for a device. One piece per VMA of the client, each
// a MAP_SHARED mapping of the file behind it (/proc/PID/map_files).
class SharedView {
  public:
    struct Piece {
        uint64_t local;   // the daemon's address
        uint64_t remote;  // the client's
        uint64_t length;
    };
    SharedView() = default;
    ~SharedView();
    SharedView(SharedView&& o) noexcept : pieces_(std::move(o.pieces_)) { o.pieces_.clear(); }
    SharedView& operator=(SharedView&&) = delete;
    SharedView(const SharedView&) = delete;

    // 0; -EFAULT when part of the range is not mapped; -EOPNOTSUPP when a
    // part is private memory (its pages cannot be shared; `why` says which).
    int map(pid_t pid, uint64_t addr, uint64_t length, bool writable, std::string& why);
    const std::vector<Piece>& pieces() const { return pieces_; }

  private:
    std::vector<Piece> pieces_;
};

// An interrupt delivered to the client's eventfd (our duplicate of it).
class EventfdSignal final : public devices::IrqSignal {
  public:
    explicit EventfdSignal(UniqueFd fd) : fd_(std::move(fd)) {}
    void signal() override;

  private:
    UniqueFd fd_;
};

}  // namespace ioasid::host
