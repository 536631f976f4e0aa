#include "daemon/vmm_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "daemon/log.h"
#include "host/unix_socket.h"

namespace ioasid::daemon {

VmmChannel::VmmChannel(std::string path, Handler handler)
    : handler_(std::move(handler)), thread_(std::move(path)) {}

VmmChannel::~VmmChannel() {
    stop();
}

int VmmChannel::start() {
    return thread_.start(SOCK_SEQPACKET, 0666, 0, [this] { run(); });
}

void VmmChannel::stop() {
    thread_.stop();
}

void VmmChannel::accept_client() {
    host::UniqueFd fd(
        ::accept4(thread_.listen_fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (clients_.size() >= kMaxClients) {
        LOG_DEBUG("vmm channel: %zu connections wait already; one more closed", clients_.size());
        return;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid <= 0) {
        LOG_DEBUG("vmm channel: a peer whose pid is not visible here; closed");
        return;
    }
    clients_.push_back({std::move(fd), cred.pid});
}

// The checks of the message itself; the handler decides the rest.
int VmmChannel::answer(const Client& c, const void* msg, ssize_t len,
                       std::vector<host::UniqueFd>& fds, ioasidd_channel_reply& reply,
                       host::UniqueFd& out) {
    ioasidd_channel_request req;
    if (len != static_cast<ssize_t>(sizeof(req))) {
        LOG_DEBUG("vmm channel: pid %d sent %zd bytes, not a request of %zu", c.pid, len,
                  sizeof(req));
        return -EOPNOTSUPP;
    }
    std::memcpy(&req, msg, sizeof(req));
    if (req.size != sizeof(req)) {
        LOG_DEBUG("vmm channel: pid %d: request size %u, not %zu", c.pid, req.size, sizeof(req));
        return -EOPNOTSUPP;
    }
    if (fds.size() != 1) {
        LOG_DEBUG("vmm channel: pid %d: %zu fds with its request, not 1", c.pid, fds.size());
        return -EBADF;
    }
    return handler_(fds[0].get(), c.pid, req, reply, out);
}

bool VmmChannel::serve(Client& c) {
    alignas(8) char msg[sizeof(ioasidd_channel_request) + 1];
    std::vector<host::UniqueFd> fds;
    // Two fds fit, so that a request with too many is told so.
    const ssize_t n = host::receive_with_fds(c.fd.get(), msg, sizeof(msg), fds, 2);
    if (n == -EAGAIN) return true;
    if (n == 0 || (n < 0 && n != -EMSGSIZE)) return false;
    ioasidd_channel_reply reply{};
    reply.size = sizeof(reply);
    host::UniqueFd out;
    reply.result = n < 0 ? -EOPNOTSUPP : answer(c, msg, n, fds, reply, out);
    if (reply.result) out.reset();
    fds.clear();  // the duplicates of the sender's files go before the reply
    return host::send_with_fd(c.fd.get(), &reply, sizeof(reply), out ? out.get() : -1) ==
           static_cast<ssize_t>(sizeof(reply));
}

void VmmChannel::run() {
    for (;;) {
        std::vector<pollfd> fds{{thread_.wake_fd(), POLLIN, 0}, {thread_.listen_fd(), POLLIN, 0}};
        for (const Client& c : clients_) fds.push_back({c.fd.get(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
        if (fds[0].revents && thread_.woken_to_stop()) return;
        size_t i = 2;
        for (auto it = clients_.begin(); it != clients_.end(); ++i) {
            const bool ready = fds[i].revents & (POLLIN | POLLHUP | POLLERR);
            it = ready && !serve(*it) ? clients_.erase(it) : std::next(it);
        }
        if (fds[1].revents & POLLIN) accept_client();
    }
}

}  // namespace ioasid::daemon
