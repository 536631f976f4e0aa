#include "daemon/socket_thread.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "host/unix_socket.h"

namespace ioasid::daemon {

int SocketThread::start(int type, mode_t mode, gid_t group, std::function<void()> run) {
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return -errno;
    if (int rc = host::listen_unix(path_, type, mode, group, listen_)) return rc;
    thread_ = std::thread(std::move(run));
    return 0;
}

void SocketThread::stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake();
    thread_.join();
    ::unlink(path_.c_str());
}

void SocketThread::wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

bool SocketThread::woken_to_stop() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof(count));
    return stopping_;
}

}  // namespace ioasid::daemon
