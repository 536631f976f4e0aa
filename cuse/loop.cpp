#define FUSE_USE_VERSION 34
#include "cuse/loop.h"

#include <fuse_lowlevel.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace ioasid::cuse {

Loop::Loop() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: every worker sees the stop
    ev.data.ptr = nullptr;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
}

Loop::~Loop() {
    stop();
    join();
    ::close(stop_fd_);
    ::close(epoll_fd_);
}

int Loop::add(CuseNode& node) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &node;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, node.fd(), &ev) ? -errno : 0;
}

void Loop::rearm(CuseNode& node) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &node;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, node.fd(), &ev);
}

void Loop::start(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

void Loop::stop() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
}

void Loop::join() {
    for (auto& t : workers_)
        if (t.joinable()) t.join();
    workers_.clear();
}

void Loop::work() {
    fuse_buf buf{};
    for (;;) {
        epoll_event ev;
        int n = ::epoll_wait(epoll_fd_, &ev, 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || ev.data.ptr == nullptr) break;
        auto& node = *static_cast<CuseNode*>(ev.data.ptr);
        int rc = node.receive(buf);
        if (rc > 0) {
            rearm(node);
            node.process(buf);
        } else if (rc == -EAGAIN || rc == -EINTR) {
            rearm(node);
        } else {
            // The kernel (or the harness) closed the session.
            std::lock_guard lock(exit_mutex_);
            if (on_exit_) on_exit_(node);
        }
    }
    std::free(buf.mem);
}

}  // namespace ioasid::cuse
