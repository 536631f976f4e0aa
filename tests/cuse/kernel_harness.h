// Plays the kernel's side of /dev/cuse over a SOCK_SEQPACKET socketpair, so
// the transport runs unchanged on a host without CUSE: CUSE_INIT, OPEN,
// IOCTL (with fs/fuse/ioctl.c's retry loop), READ, RELEASE.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ioasid::test {

class KernelHarness {
  public:
    KernelHarness();
    ~KernelHarness();

    // The daemon's end of the socketpair (hand it to CuseNode::create).
    int take_daemon_fd();

    struct InitReply {
        uint32_t flags = 0;
        std::string dev_info;
    };
    // Sends CUSE_INIT and returns the daemon's answer; error < 0 on failure.
    int init(InitReply& out);

    // FUSE_OPEN; returns the fh or a negative errno.
    int64_t open(uint64_t& fh);
    int release(uint64_t fh);
    int read(uint64_t fh, size_t size);

    struct IoctlOutcome {
        int result;
        unsigned rounds;
    };
    // An unrestricted ioctl on `arg` in this process's memory. With
    // `visible_pid` false the request carries pid 0, as for a caller the
    // daemon's pid namespace cannot see.
    IoctlOutcome ioctl(uint64_t fh, uint32_t cmd, void* arg, bool visible_pid = true);

    // Closes the kernel's end: the daemon sees the connection go.
    void hang_up();

  private:
    int fds_[2] = {-1, -1};
    uint64_t unique_ = 1;
    std::vector<unsigned char> rx_;

    int transact(uint32_t opcode, uint64_t nodeid, const void* arg, size_t arg_len,
                 const void* extra, size_t extra_len, std::vector<unsigned char>& reply,
                 uint32_t pid);
};

}  // namespace ioasid::test
