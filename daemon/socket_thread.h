// A listening Unix socket and the one thread that serves it, made, woken and
// stopped alike for the control socket and the VMM channel. The serving
// loop polls wake_fd() beside its own fds and returns once
// woken_to_stop() says so.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "host/unique_fd.h"

namespace ioasid::daemon {

class SocketThread {
  public:
    explicit SocketThread(std::string path) : path_(std::move(path)) {}
    ~SocketThread() { stop(); }
    SocketThread(const SocketThread&) = delete;
    SocketThread& operator=(const SocketThread&) = delete;

    // The socket (host::listen_unix: `type`, `mode`, `group`), then `run`
    // on the thread. -errno.
    int start(int type, mode_t mode, gid_t group, std::function<void()> run);
    // Asks the loop to return, waits for it and removes the socket.
    void stop();
    // Makes wake_fd() readable: the loop runs another round.
    void wake();
    // After wake_fd() turned readable: takes the wake-ups, and says whether
    // stop() asked for them.
    bool woken_to_stop();

    int listen_fd() const { return listen_.get(); }
    int wake_fd() const { return wake_.get(); }

  private:
    const std::string path_;
    host::UniqueFd listen_, wake_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace ioasid::daemon
