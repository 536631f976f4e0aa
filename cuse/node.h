// One character device served through CUSE: a libfuse session built with
// cuse_lowlevel_new() on a file descriptor we own (/dev/cuse, or a test
// harness's socket), driven by the daemon's own loop (cuse/loop.h).
//
// The transport moves bytes and nothing else: what a command means is the
// NodeHandler's business. For ioctls it offers two ways to reach the caller's
// memory: directly with process_vm_readv/writev (one round trip), or through
// the FUSE ioctl retry protocol when the daemon has no ptrace right over the
// caller (one round trip per footprint step).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dispatch/user_memory.h"

struct fuse_session;
struct fuse_buf;

namespace ioasid::cuse {

// What the transport reports about each ioctl it completed.
struct IoctlRecord {
    uint32_t cmd;
    int result;
    unsigned round_trips;
    bool direct;  // served with process_vm_readv/writev
    std::chrono::nanoseconds duration;
    uint32_t tid = 0;  // the calling thread
    uint64_t arg = 0;
    // The struct at `arg` as read, and as left for the caller (ArgCapture);
    // filled only for a handler that wants_arguments().
    std::vector<uint8_t> before, after;
};

class NodeHandler {
  public:
    virtual ~NodeHandler() = default;
    // Returns 0 and an opaque handle for the new open file, or -errno.
    virtual int open(const dispatch::Caller& caller, uint64_t& fh) = 0;
    virtual void release(uint64_t fh) = 0;
    virtual int ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
                      dispatch::Caller& caller) = 0;
    // The memory the ioctl will touch given what is known of it (see
    // dispatch::Footprint). It may depend on the open file's state.
    virtual dispatch::Footprint footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                          dispatch::UserMemory& known) = 0;
    virtual void completed(const IoctlRecord&) {}
    // Whether completed() should get the argument's bytes (tracing is on).
    virtual bool wants_arguments() const { return false; }
};

struct NodeConfig {
    std::string devname;  // "ioasid", "vfio/device0": relative to /dev
    unsigned major = 0;   // 0: let the kernel choose
    unsigned minor = 0;
    // Use process_vm_readv/writev when the kernel lets us; false forces the
    // retry protocol (tests, and hosts where ptrace access is unwanted).
    bool direct_memory = true;
    // After each request, one worker keeps reading for this long before it
    // sleeps: a request that follows soon (an UNMAP after its MAP) then
    // skips the scheduler's wake-up, at the price of a CPU busy meanwhile.
    // 0: workers sleep at once, as libfuse's loop does.
    std::chrono::microseconds busy_poll{0};
    std::function<void()> on_ready;  // the kernel accepted CUSE_INIT
    // The caller of a request (thread id, uid, gid as the request carries
    // them) as the handlers see it: the daemon's, which asks /proc. Without
    // it a caller has only those three.
    std::function<dispatch::Caller(pid_t tid, uid_t uid, gid_t gid)> make_caller;
};

class CuseNode {
  public:
    // Takes ownership of `fd`. Returns nullptr (and a reason) on failure.
    static std::unique_ptr<CuseNode> create(NodeConfig config, NodeHandler& handler, int fd,
                                            std::string& error);
    ~CuseNode();
    CuseNode(const CuseNode&) = delete;
    CuseNode& operator=(const CuseNode&) = delete;

    int fd() const { return fd_; }
    const std::string& devname() const { return config_.devname; }
    bool ready() const { return ready_.load(); }

    // Waits for one request and reads it into `buf`: >0 got one, 0 the
    // session ended, -EINTR interrupted, other negative values are errors.
    int receive(fuse_buf& buf);
    void process(const fuse_buf& buf);
    bool exited() const;
    // For libfuse's read: one request, or -1 and errno.
    ssize_t read_request(void* buf, size_t len);
    // Requests a busy-polling worker read (none had to wake a worker).
    uint64_t caught_polling() const { return caught_polling_.load(std::memory_order_relaxed); }

    // For the libfuse callbacks.
    NodeHandler& handler() { return handler_; }
    const NodeConfig& config() const { return config_; }
    void mark_ready();

  private:
    CuseNode(NodeConfig config, NodeHandler& handler)
        : config_(std::move(config)), handler_(handler) {}

    NodeConfig config_;
    NodeHandler& handler_;
    fuse_session* session_ = nullptr;
    int fd_ = -1;
    std::atomic<bool> ready_{false};
    std::atomic<bool> polling_{false};  // a worker holds the busy-poll turn
    std::atomic<uint64_t> caught_polling_{0};

    bool poll_for_request(void* buf, size_t len, ssize_t& n);
};

// Opens /dev/cuse for a new node; -errno on failure.
int open_cuse_device();

}  // namespace ioasid::cuse
