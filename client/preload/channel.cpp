#include "channel.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host/unix_socket.h"

namespace ioasid::preload {

const char* channel_path() {
    const char* env = std::getenv("IOASIDD_VMM_SOCKET");
    return env && *env ? env : IOASIDD_CHANNEL_PATH;
}

int channel_ask(int fd, const ioasidd_channel_request& req, ioasidd_channel_reply& reply,
                host::UniqueFd& out) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const char* path = channel_path();
    if (std::strlen(path) >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
    std::strcpy(addr.sun_path, path);
    host::UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!sock) return -errno;
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr))) return -errno;
    ssize_t n = host::send_with_fd(sock.get(), &req, sizeof(req), fd);
    if (n < 0) return static_cast<int>(n);
    std::vector<host::UniqueFd> fds;
    n = host::receive_with_fds(sock.get(), &reply, sizeof(reply), fds, 1);
    if (n < 0) return static_cast<int>(n);
    if (n != static_cast<ssize_t>(sizeof(reply)) || reply.size != sizeof(reply)) return -EPROTO;
    if (reply.result) return reply.result;
    if (!fds.empty()) out = std::move(fds.front());
    return 0;
}

}  // namespace ioasid::preload
