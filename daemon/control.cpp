#include "daemon/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "daemon/log.h"

namespace ioasid::daemon {

using nlohmann::json;

namespace {

json error_reply(const std::string& cls, const std::string& desc, const json& id) {
    json r = {{"error", {{"class", cls}, {"desc", desc}}}};
    if (!id.is_null()) r["id"] = id;
    return r;
}

json timestamp() {
    timeval tv;
    gettimeofday(&tv, nullptr);
    return {{"seconds", tv.tv_sec}, {"microseconds", tv.tv_usec}};
}

}  // namespace

ControlServer::ControlServer(std::string path, mode_t mode, gid_t group, std::string version,
                             Execute execute)
    : mode_(mode),
      group_(group),
      version_(std::move(version)),
      execute_(std::move(execute)),
      thread_(std::move(path)) {}

ControlServer::~ControlServer() {
    stop();
}

int ControlServer::start() {
    return thread_.start(SOCK_STREAM, mode_, group_, [this] { run(); });
}

void ControlServer::stop() {
    thread_.stop();
}

void ControlServer::emit(const std::string& name, const json& data) {
    const std::string line =
        json{{"event", name}, {"data", data}, {"timestamp", timestamp()}}.dump() + "\n";
    {
        std::lock_guard lock(mutex_);
        for (Client& c : clients_)
            if (c.subscribed) c.out += line;
    }
    thread_.wake();  // the loop flushes
}

void ControlServer::send(Client& c, const json& msg) {
    const std::string line = msg.dump() + "\n";
    std::lock_guard lock(mutex_);
    c.out += line;
}

void ControlServer::accept_client() {
    host::UniqueFd fd(
        ::accept4(thread_.listen_fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    ucred cred{};
    socklen_t len = sizeof(cred);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len);
    LOG_INFO("control: connection from pid %d uid %u gid %u", cred.pid, cred.uid, cred.gid);
    Client* c;
    {
        std::lock_guard lock(mutex_);
        c = &clients_.emplace_back();
        c->fd = std::move(fd);
        c->peer = {cred.pid, cred.uid, cred.gid};
    }
    send(*c, {{"ioasidd", {{"version", version_}, {"capabilities", {"events"}}}}});
}

void ControlServer::handle_line(Client& c, const std::string& line) {
    json req = json::parse(line, nullptr, false);
    if (req.is_discarded()) return send(c, error_reply("GenericError", "invalid JSON", nullptr));
    const json id = req.is_object() && req.contains("id") ? req["id"] : json();
    if (!req.is_object() || !req.contains("execute") || !req["execute"].is_string())
        return send(c, error_reply("GenericError", "expected {\"execute\": NAME, ...}", id));
    const json args = req.value("arguments", json::object());
    if (!args.is_object())
        return send(c, error_reply("GenericError", "\"arguments\" must be an object", id));
    const std::string name = req["execute"];
    json reply;
    if (name == "subscribe-events") {
        std::lock_guard lock(mutex_);
        c.subscribed = true;
        reply = {{"return", json::object()}};
    } else {
        json result;
        CommandError err;
        if (execute_(name, args, c.peer, result, err))
            reply = {{"return", result}};
        else
            reply = error_reply(err.error_class, err.desc, nullptr);
    }
    if (!id.is_null()) reply["id"] = id;
    send(c, reply);
}

// False when the client is gone.
bool ControlServer::read_client(Client& c) {
    char buf[4096];
    ssize_t n = ::read(c.fd.get(), buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    if (n < 0) return true;
    c.in.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = c.in.find('\n')) != std::string::npos) {
        std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        if (c.discarding) {
            c.discarding = false;  // the end of the over-long line
            continue;
        }
        if (!line.empty()) handle_line(c, line);
    }
    if (c.in.size() > kMaxLine) {
        if (!c.discarding)
            send(c, error_reply("GenericError",
                                "request longer than " + std::to_string(kMaxLine) + " bytes",
                                nullptr));
        c.discarding = true;
        c.in.clear();
    }
    return true;
}

// False when the client is gone or too far behind. Holds the lock.
bool ControlServer::flush(Client& c) {
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN) return false;
            break;
        }
        c.out.erase(0, static_cast<size_t>(n));
    }
    if (c.out.size() > kMaxPending) {
        LOG_WARN("control: pid %d does not read its replies; disconnected", c.peer.pid);
        return false;
    }
    return true;
}

// Only this thread adds and removes clients, so it reads them and runs
// their commands without the lock, which guards what other threads touch:
// the list itself, each client's pending output and subscription.
void ControlServer::run() {
    for (;;) {
        std::vector<pollfd> fds{{thread_.wake_fd(), POLLIN, 0}, {thread_.listen_fd(), POLLIN, 0}};
        std::vector<Client*> polled;
        {
            std::lock_guard lock(mutex_);
            for (Client& c : clients_) {
                const short events = static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT));
                fds.push_back({c.fd.get(), events, 0});
                polled.push_back(&c);
            }
        }
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
        if (fds[0].revents && thread_.woken_to_stop()) return;
        if (fds[1].revents & POLLIN) accept_client();
        std::vector<Client*> gone;
        for (size_t i = 0; i < polled.size(); ++i)
            if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) && !read_client(*polled[i]))
                gone.push_back(polled[i]);
        std::lock_guard lock(mutex_);
        clients_.remove_if([&](Client& c) {
            return std::find(gone.begin(), gone.end(), &c) != gone.end() || !flush(c);
        });
    }
}

}  // namespace ioasid::daemon
