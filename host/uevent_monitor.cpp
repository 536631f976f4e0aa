#include "host/uevent_monitor.h"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstdlib>

namespace ioasid::host {

namespace {

constexpr int kKernelGroup = 1;  // udevd re-broadcasts on group 2; we want the kernel's
constexpr int kReceiveBuffer = 4 << 20;

int to_errno(int nl_error) {
    switch (-nl_error) {
        case NLE_NOMEM:
            return -ENOBUFS;
        case NLE_AGAIN:
            return 0;
        case NLE_PERM:
            return -EPERM;
        default:
            return -EIO;
    }
}

}  // namespace

UeventMonitor::~UeventMonitor() {
    if (sock_) nl_socket_free(sock_);  // closes the socket too
}

int UeventMonitor::open() {
    sock_ = nl_socket_alloc();
    if (!sock_) return -ENOMEM;
    nl_socket_disable_seq_check(sock_);
    nl_join_groups(sock_, kKernelGroup);
    int rc = nl_connect(sock_, NETLINK_KOBJECT_UEVENT);
    if (rc < 0) {
        nl_socket_free(sock_);
        sock_ = nullptr;
        return rc == -NLE_PERM ? -EPERM : -EPROTONOSUPPORT;
    }
    nl_socket_set_buffer_size(sock_, kReceiveBuffer, 0);
    nl_socket_enable_msg_peek(sock_);  // no message is cut at a page
    nl_socket_set_nonblocking(sock_);
    return 0;
}

int UeventMonitor::fd() const {
    return sock_ ? nl_socket_get_fd(sock_) : -1;
}

int UeventMonitor::receive(Uevent& ev) {
    sockaddr_nl from{};
    unsigned char* buf = nullptr;
    int n = nl_recv(sock_, &from, &buf, nullptr);
    if (n <= 0) {
        std::free(buf);
        return n == 0 ? 0 : to_errno(n);
    }
    // Port 0 is the kernel; anything else is a process pretending.
    const bool ok = from.nl_pid == 0 &&
                    parse_uevent({reinterpret_cast<const char*>(buf), static_cast<size_t>(n)}, ev);
    std::free(buf);
    return ok ? 1 : 0;
}

}  // namespace ioasid::host
