#define FUSE_USE_VERSION 34
#include "cuse/node.h"

#include <cuse_lowlevel.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "cuse/arg_capture.h"
#include "cuse/process_memory.h"
#include "cuse/region_memory.h"
#include "cuse/retry_plan.h"

namespace ioasid::cuse {

namespace {

CuseNode& node_of(fuse_req_t req) {
    return *static_cast<CuseNode*>(fuse_req_userdata(req));
}

dispatch::Caller caller_of(fuse_req_t req) {
    const fuse_ctx* c = fuse_req_ctx(req);
    const CuseNode& node = node_of(req);
    if (node.config().make_caller) return node.config().make_caller(c->pid, c->uid, c->gid);
    dispatch::Caller caller;  // who, and nothing the daemon did not give a way to ask
    caller.tid = static_cast<uint32_t>(c->pid);
    caller.uid = c->uid;
    caller.gid = c->gid;
    return caller;
}

ssize_t io_read(int, void* buf, size_t len, void* userdata) {
    ssize_t n = static_cast<CuseNode*>(userdata)->read_request(buf, len);
    if (n == 0) {
        // End of a harness socket: the same as the kernel dropping the connection.
        errno = ENODEV;
        return -1;
    }
    return n;
}

ssize_t io_writev(int fd, iovec* iov, int count, void*) {
    for (;;) {
        ssize_t n = ::writev(fd, iov, count);
        // Only a harness socket, made non-blocking for busy polling, can be
        // full; /dev/cuse takes every reply at once.
        if (n >= 0 || errno != EAGAIN) return n;
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
    }
}

void on_init_done(void* userdata) {
    static_cast<CuseNode*>(userdata)->mark_ready();
}

void on_open(fuse_req_t req, fuse_file_info* fi) {
    dispatch::Caller caller = caller_of(req);
    uint64_t fh = 0;
    int rc = node_of(req).handler().open(caller, fh);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = fh;
    fi->direct_io = 1;
    fi->nonseekable = 1;
    fuse_reply_open(req, fi);
}

void on_release(fuse_req_t req, fuse_file_info* fi) {
    node_of(req).handler().release(fi->fh);
    fuse_reply_err(req, 0);
}

// The kernel's iommufd has no read or write: the VFS answers EINVAL.
void on_read(fuse_req_t req, size_t, off_t, fuse_file_info*) {
    fuse_reply_err(req, EINVAL);
}
void on_write(fuse_req_t req, const char*, size_t, off_t, fuse_file_info*) {
    fuse_reply_err(req, EINVAL);
}

std::vector<iovec> to_iovecs(const std::vector<dispatch::Region>& regions) {
    std::vector<iovec> iov;
    for (const auto& r : regions) iov.push_back({reinterpret_cast<void*>(r.addr), r.len});
    return iov;
}

void ask_for(fuse_req_t req, const dispatch::Footprint& fp) {
    if (!fits_one_retry(fp)) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    auto in = to_iovecs(fp.in), out = to_iovecs(fp.out);
    fuse_reply_ioctl_retry(req, in.data(), in.size(), out.data(), out.size());
}

struct Timer {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    std::chrono::nanoseconds elapsed() const { return std::chrono::steady_clock::now() - start; }
};

// One call of the handler; the argument's bytes are kept only when asked for.
int run(NodeHandler& h, uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
        dispatch::Caller& caller, IoctlRecord& rec) {
    if (!h.wants_arguments()) return rec.result = h.ioctl(fh, cmd, arg, mem, caller);
    ArgCapture capture(mem, arg);
    rec.result = h.ioctl(fh, cmd, arg, capture, caller);
    rec.before = capture.before();
    rec.after = capture.after();
    return rec.result;
}

// The retry protocol (cuse/retry_plan.h decides what each round does).
void ioctl_by_retry(fuse_req_t req, CuseNode& node, uint64_t fh, uint32_t cmd, uint64_t arg,
                    dispatch::Caller& caller, const void* in_buf, size_t in_size, size_t out_size,
                    const Timer& timer) {
    NodeHandler& h = node.handler();
    auto footprint = [&](dispatch::UserMemory& known) { return h.footprint(fh, cmd, arg, known); };
    RetryPlan plan = plan_retry(footprint, in_buf, in_size, out_size);
    if (plan.action == RetryPlan::Action::Fail) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (plan.action == RetryPlan::Action::Ask) return ask_for(req, plan.footprint);

    RegionMemory mem(plan.footprint.in, in_buf, in_size, plan.footprint.out);
    IoctlRecord rec{cmd, 0, plan.round, false, {}, caller.tid, arg, {}, {}};
    int rc = run(h, fh, cmd, arg, mem, caller, rec);
    if (mem.missed()) {
        // The context changed since the footprint was taken and the command
        // now reads further. It read before changing anything: ask again.
        return ask_for(req, carried(h.footprint(fh, cmd, arg, mem)));
    }
    std::optional<std::vector<iovec>> out = mem.out_data(plan.footprint.out);
    if (!out) {
        // A footprint that let the command write past what it declared.
        fuse_reply_err(req, EIO);
        return;
    }
    fuse_reply_ioctl_iov(req, rc, out->data(), static_cast<int>(out->size()));
    rec.duration = timer.elapsed();
    h.completed(rec);
}

void on_ioctl(fuse_req_t req, int cmd_signed, void* arg_ptr, fuse_file_info* fi, unsigned flags,
              const void* in_buf, size_t in_size, size_t out_size) {
    Timer timer;
    CuseNode& node = node_of(req);
    if (flags & FUSE_IOCTL_COMPAT) {
        // iommufd and VFIO have no 32-bit compat_ioctl.
        fuse_reply_err(req, ENOTTY);
        return;
    }
    const auto cmd = static_cast<uint32_t>(cmd_signed);
    const auto arg = reinterpret_cast<uint64_t>(arg_ptr);
    dispatch::Caller caller = caller_of(req);

    if (node.config().direct_memory && caller.tid && in_size == 0 && out_size == 0) {
        ProcessMemory mem(static_cast<pid_t>(caller.tid));
        IoctlRecord rec{cmd, 0, 1, true, {}, caller.tid, arg, {}, {}};
        int rc = run(node.handler(), fi->fh, cmd, arg, mem, caller, rec);
        if (!mem.denied() || mem.touched()) {
            fuse_reply_ioctl(req, rc, nullptr, 0);
            rec.duration = timer.elapsed();
            node.handler().completed(rec);
            return;
        }
        // No ptrace right over this caller: nothing happened yet, fall back.
    }
    ioctl_by_retry(req, node, fi->fh, cmd, arg, caller, in_buf, in_size, out_size, timer);
}

}  // namespace

int open_cuse_device() {
    int fd = ::open("/dev/cuse", O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

std::unique_ptr<CuseNode> CuseNode::create(NodeConfig config, NodeHandler& handler, int fd,
                                           std::string& error) {
    std::unique_ptr<CuseNode> node(new CuseNode(std::move(config), handler));
    node->fd_ = fd;
    if (node->config_.busy_poll.count() > 0) {
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            error = "fcntl(O_NONBLOCK) for busy polling: " + std::string(std::strerror(errno));
            ::close(fd);
            node->fd_ = -1;
            return nullptr;
        }
    }

    std::string devname = "DEVNAME=" + node->config_.devname;
    const char* dev_info[] = {devname.c_str()};
    cuse_info ci{};
    ci.dev_major = node->config_.major;
    ci.dev_minor = node->config_.minor;
    ci.dev_info_argc = 1;
    ci.dev_info_argv = dev_info;
    ci.flags = CUSE_UNRESTRICTED_IOCTL;

    cuse_lowlevel_ops ops{};
    ops.init_done = on_init_done;
    ops.open = on_open;
    ops.release = on_release;
    ops.read = on_read;
    ops.write = on_write;
    ops.ioctl = on_ioctl;

    char prog[] = "ioasidd";
    char* argv[] = {prog, nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, argv);
    node->session_ = cuse_lowlevel_new(&args, &ci, &ops, node.get());
    if (!node->session_) {
        error = "cuse_lowlevel_new failed for " + node->config_.devname;
        ::close(fd);
        node->fd_ = -1;
        return nullptr;
    }
    static const fuse_custom_io io = {io_writev, io_read, nullptr, nullptr};
    int rc = fuse_session_custom_io(node->session_, &io, fd);
    if (rc < 0) {
        error = "fuse_session_custom_io: " + std::string(std::strerror(-rc));
        ::close(fd);
        node->fd_ = -1;
        return nullptr;
    }
    return node;
}

// With busy polling the fd is non-blocking, and a worker sleeps in poll()
// instead of read(): several may wake for one request, and the losers' reads
// answer EAGAIN. A signal (the loop's stop) ends the poll with EINTR.
ssize_t CuseNode::read_request(void* buf, size_t len) {
    if (config_.busy_poll.count() == 0) return ::read(fd_, buf, len);
    ssize_t n;
    if (poll_for_request(buf, len, n)) return n;
    for (;;) {
        n = ::read(fd_, buf, len);
        if (n >= 0 || errno != EAGAIN) return n;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, -1) < 0) return -1;
    }
}

// One worker at a time reads without sleeping until the window closes;
// true when that settled the read (a request, or an error).
bool CuseNode::poll_for_request(void* buf, size_t len, ssize_t& n) {
    if (polling_.exchange(true, std::memory_order_acquire)) return false;
    const auto until = std::chrono::steady_clock::now() + config_.busy_poll;
    for (;;) {
        n = ::read(fd_, buf, len);
        if (n >= 0 || errno != EAGAIN) break;
        if (std::chrono::steady_clock::now() >= until) break;
    }
    polling_.store(false, std::memory_order_release);
    if (n > 0) caught_polling_.fetch_add(1, std::memory_order_relaxed);
    return n >= 0 || errno != EAGAIN;
}

CuseNode::~CuseNode() {
    // Closes the fd: the kernel removes the device and fails later calls.
    if (session_) fuse_session_destroy(session_);
}

int CuseNode::receive(fuse_buf& buf) {
    buf.flags = static_cast<fuse_buf_flags>(0);
    return fuse_session_receive_buf(session_, &buf);
}

void CuseNode::process(const fuse_buf& buf) {
    fuse_session_process_buf(session_, &buf);
}

bool CuseNode::exited() const {
    return fuse_session_exited(session_);
}

void CuseNode::mark_ready() {
    ready_ = true;
    if (config_.on_ready) config_.on_ready();
}

}  // namespace ioasid::cuse
