#include "host/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ioasid::host {

int listen_unix(const std::string& path, int type, mode_t mode, gid_t group, UniqueFd& out) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
    std::strcpy(addr.sun_path, path.c_str());
    UniqueFd fd(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return -errno;
    UniqueFd probe(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
        return -EADDRINUSE;
    ::unlink(path.c_str());
    const mode_t old = ::umask(0777);
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::umask(old);
    if (rc || ::chown(path.c_str(), 0, group) || ::chmod(path.c_str(), mode) ||
        ::listen(fd.get(), 16))
        return -errno;
    out = std::move(fd);
    return 0;
}

ssize_t send_with_fds(int sock, const void* buf, size_t len, const int* fds, size_t count) {
    iovec iov{const_cast<void*>(buf), len};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * count));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (count) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * count);
        std::memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
    }
    ssize_t n;
    do n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t receive_with_fds(int sock, void* buf, size_t len, std::vector<UniqueFd>& fds,
                         size_t max_fds) {
    iovec iov{buf, len};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * (max_fds ? max_fds : 1)));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n;
    do n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds.emplace_back(fd);
        }
    }
    // A message longer than `len` was cut: not one of ours.
    if (msg.msg_flags & MSG_TRUNC) return -EMSGSIZE;
    return n;
}

}  // namespace ioasid::host
