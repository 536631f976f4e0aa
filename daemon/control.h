// The JSON control socket: QMP-style, one JSON object per line over a Unix
// socket, served by one thread that never blocks on a client.
//
//   on connect   {"ioasidd": {"version": V, "capabilities": ["events"]}}
//   request      {"execute": NAME, "arguments": {...}, "id": ANY}
//   reply        {"return": ..., "id": ANY} or
//                {"error": {"class": C, "desc": D}, "id": ANY}
//   event        {"event": NAME, "data": {...}, "timestamp": {"seconds", "microseconds"}}
//                to clients that sent "subscribe-events"
//
// Bad JSON, a request that is not an object, an unknown command, wrong
// argument types and lines over kMaxLine bytes get an error reply and the
// connection stays usable. A client that does not read its replies and
// events is disconnected once kMaxPending bytes wait for it, so it cannot
// stall the daemon.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/socket_thread.h"
#include "host/unique_fd.h"

namespace ioasid::daemon {

// A command's failure: the error reply's class and description.
struct CommandError {
    std::string error_class;  // "GenericError", "CommandNotFound", ...
    std::string desc;
};

// Who is asking, from SO_PEERCRED.
struct Peer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

class ControlServer {
  public:
    static constexpr size_t kMaxLine = 64 * 1024;
    static constexpr size_t kMaxPending = 1024 * 1024;

    // Runs a command: its "return" value, or false with `error` filled.
    using Execute =
        std::function<bool(const std::string& name, const nlohmann::json& args, const Peer& peer,
                           nlohmann::json& result, CommandError& error)>;

    ControlServer(std::string path, mode_t mode, gid_t group, std::string version, Execute execute);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Creates the socket (replacing a stale one) and starts serving. -errno.
    int start();
    void stop();
    // Queues an event for every subscribed client; safe from any thread.
    void emit(const std::string& name, const nlohmann::json& data);

  private:
    struct Client {
        host::UniqueFd fd;
        Peer peer;
        std::string in;
        std::string out;
        bool subscribed = false;
        bool discarding = false;  // inside an over-long line
    };

    const mode_t mode_;
    const gid_t group_;
    const std::string version_;
    Execute execute_;
    std::mutex mutex_;  // see run()
    std::list<Client> clients_;
    SocketThread thread_;  // last: it stops before the rest goes

    void run();
    void accept_client();
    bool read_client(Client& c);
    bool flush(Client& c);
    void handle_line(Client& c, const std::string& line);
    void send(Client& c, const nlohmann::json& msg);
};

}  // namespace ioasid::daemon
