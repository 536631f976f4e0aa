#include "kernel_harness.h"

#include <linux/fuse.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ioasid::test {

namespace {

// The kernel copies from and to the caller with faults reported, not taken.
bool copy_in(const std::vector<fuse_ioctl_iovec>& iovs, std::vector<unsigned char>& out) {
    for (const auto& v : iovs) {
        size_t at = out.size();
        out.resize(at + v.len);
        iovec local{out.data() + at, v.len};
        iovec remote{reinterpret_cast<void*>(v.base), v.len};
        if (v.len &&
            process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(v.len))
            return false;
    }
    return true;
}

bool copy_out(const std::vector<fuse_ioctl_iovec>& iovs, const unsigned char* data, size_t len) {
    for (const auto& v : iovs) {
        if (!len) break;
        size_t n = std::min<size_t>(len, v.len);
        iovec local{const_cast<unsigned char*>(data), n};
        iovec remote{reinterpret_cast<void*>(v.base), n};
        if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != static_cast<ssize_t>(n))
            return false;
        data += n;
        len -= n;
    }
    return true;
}

}  // namespace

KernelHarness::KernelHarness() : rx_(1 << 21) {
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds_))
        throw std::runtime_error("socketpair failed");
}

KernelHarness::~KernelHarness() {
    hang_up();
    if (fds_[0] >= 0) ::close(fds_[0]);
}

int KernelHarness::take_daemon_fd() {
    int fd = fds_[0];
    fds_[0] = -1;
    return fd;
}

void KernelHarness::hang_up() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
}

int KernelHarness::transact(uint32_t opcode, uint64_t nodeid, const void* arg, size_t arg_len,
                            const void* extra, size_t extra_len, std::vector<unsigned char>& reply,
                            uint32_t pid) {
    fuse_in_header h{};
    h.len = static_cast<uint32_t>(sizeof(h) + arg_len + extra_len);
    h.opcode = opcode;
    h.unique = unique_++;
    h.nodeid = nodeid;
    h.uid = getuid();
    h.gid = getgid();
    h.pid = pid;
    iovec iov[3] = {
        {&h, sizeof(h)}, {const_cast<void*>(arg), arg_len}, {const_cast<void*>(extra), extra_len}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 3;
    if (sendmsg(fds_[1], &msg, 0) < 0) return -errno;
    ssize_t n = recv(fds_[1], rx_.data(), rx_.size(), 0);
    if (n < static_cast<ssize_t>(sizeof(fuse_out_header))) return -EIO;
    fuse_out_header oh;
    std::memcpy(&oh, rx_.data(), sizeof(oh));
    if (oh.unique != h.unique || oh.len != static_cast<uint32_t>(n)) return -EIO;
    if (oh.error) return oh.error;
    reply.assign(rx_.begin() + sizeof(oh), rx_.begin() + n);
    return 0;
}

int KernelHarness::init(InitReply& out) {
    cuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.flags = CUSE_UNRESTRICTED_IOCTL;
    std::vector<unsigned char> reply;
    int rc = transact(CUSE_INIT, 0, &in, sizeof(in), nullptr, 0, reply, getpid());
    if (rc) return rc;
    if (reply.size() < sizeof(cuse_init_out)) return -EIO;
    cuse_init_out o;
    std::memcpy(&o, reply.data(), sizeof(o));
    out.flags = o.flags;
    out.dev_info.assign(reply.begin() + sizeof(o), reply.end());
    return 0;
}

int64_t KernelHarness::open(uint64_t& fh) {
    fuse_open_in in{};
    in.flags = 2;  // O_RDWR
    std::vector<unsigned char> reply;
    int rc = transact(FUSE_OPEN, 1, &in, sizeof(in), nullptr, 0, reply, gettid());
    if (rc) return rc;
    fuse_open_out o;
    std::memcpy(&o, reply.data(), sizeof(o));
    fh = o.fh;
    return 0;
}

int KernelHarness::release(uint64_t fh) {
    fuse_release_in in{};
    in.fh = fh;
    std::vector<unsigned char> reply;
    return transact(FUSE_RELEASE, 1, &in, sizeof(in), nullptr, 0, reply, 0);
}

int KernelHarness::read(uint64_t fh, size_t size) {
    fuse_read_in in{};
    in.fh = fh;
    in.size = static_cast<uint32_t>(size);
    std::vector<unsigned char> reply;
    int rc = transact(FUSE_READ, 1, &in, sizeof(in), nullptr, 0, reply, gettid());
    return rc ? rc : static_cast<int>(reply.size());
}

KernelHarness::IoctlOutcome KernelHarness::ioctl(uint64_t fh, uint32_t cmd, void* arg,
                                                 bool visible_pid) {
    std::vector<fuse_ioctl_iovec> in_iovs, out_iovs;
    for (unsigned round = 1;; ++round) {
        std::vector<unsigned char> in_data;
        if (!copy_in(in_iovs, in_data)) return {-EFAULT, round};
        uint64_t out_size = 0;
        for (const auto& v : out_iovs) out_size += v.len;

        fuse_ioctl_in in{};
        in.fh = fh;
        in.flags = FUSE_IOCTL_UNRESTRICTED;
        in.cmd = cmd;
        in.arg = reinterpret_cast<uint64_t>(arg);
        in.in_size = static_cast<uint32_t>(in_data.size());
        in.out_size = static_cast<uint32_t>(out_size);
        std::vector<unsigned char> reply;
        int rc = transact(FUSE_IOCTL, 1, &in, sizeof(in), in_data.data(), in_data.size(), reply,
                          visible_pid ? static_cast<uint32_t>(gettid()) : 0);
        if (rc) return {rc, round};
        fuse_ioctl_out o;
        std::memcpy(&o, reply.data(), sizeof(o));
        const unsigned char* rest = reply.data() + sizeof(o);
        size_t rest_len = reply.size() - sizeof(o);
        if (o.flags & FUSE_IOCTL_RETRY) {
            if (o.in_iovs + o.out_iovs > FUSE_IOCTL_MAX_IOV) return {-ENOMEM, round};
            if (rest_len != (o.in_iovs + o.out_iovs) * sizeof(fuse_ioctl_iovec))
                return {-EIO, round};
            const auto* v = reinterpret_cast<const fuse_ioctl_iovec*>(rest);
            in_iovs.assign(v, v + o.in_iovs);
            out_iovs.assign(v + o.in_iovs, v + o.in_iovs + o.out_iovs);
            continue;
        }
        if (rest_len > out_size) return {-EIO, round};
        if (!copy_out(out_iovs, rest, rest_len)) return {-EFAULT, round};
        return {o.result, round};
    }
}

}  // namespace ioasid::test
