#include "host/eventfd_watcher.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace ioasid::host {

namespace {

constexpr uint64_t kStopKey = 0;

// The count, without ever blocking: the user may have read it first.
bool consume(int fd) {
    uint64_t count;
    iovec v{&count, sizeof(count)};
    ssize_t n = ::preadv2(fd, &v, 1, -1, RWF_NOWAIT);
    return n == static_cast<ssize_t>(sizeof(count));
}

}  // namespace

EventfdWatcher::EventfdWatcher() {
    state_->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
    state_->stop.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!state_->epoll || !state_->stop) return;
    epoll_event ev{EPOLLIN, {.u64 = kStopKey}};
    if (::epoll_ctl(state_->epoll.get(), EPOLL_CTL_ADD, state_->stop.get(), &ev)) return;
    thread_ = std::thread(run, state_);
}

EventfdWatcher::~EventfdWatcher() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    (void)!::write(state_->stop.get(), &one, sizeof(one));
    thread_.join();
}

int EventfdWatcher::watch(UniqueFd fd, std::function<void()> fired, std::shared_ptr<void>& handle) {
    if (!thread_.joinable()) return -ENOMEM;
    std::lock_guard lock(state_->mutex);
    const uint64_t key = state_->next++;
    epoll_event ev{EPOLLIN, {.u64 = key}};
    if (::epoll_ctl(state_->epoll.get(), EPOLL_CTL_ADD, fd.get(), &ev)) return -errno;
    state_->watches[key] = std::make_shared<Watch>(Watch{std::move(fd), std::move(fired)});
    std::weak_ptr<State> state = state_;
    handle = std::shared_ptr<void>(nullptr, [state, key](void*) {
        if (auto s = state.lock()) s->remove(key);
    });
    return 0;
}

void EventfdWatcher::State::remove(uint64_t key) {
    std::lock_guard lock(mutex);
    auto it = watches.find(key);
    if (it == watches.end()) return;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, it->second->fd.get(), nullptr);
    watches.erase(it);
}

void EventfdWatcher::run(std::shared_ptr<State> state) {
    epoll_event events[16];
    for (;;) {
        const int n = ::epoll_wait(state->epoll.get(), events, 16, -1);
        if (n < 0 && errno != EINTR) return;
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 == kStopKey) return;
            std::shared_ptr<Watch> w;
            {
                std::lock_guard lock(state->mutex);
                auto it = state->watches.find(events[i].data.u64);
                if (it != state->watches.end()) w = it->second;
            }
            if (w && consume(w->fd.get())) w->fired();
        }
    }
}

}  // namespace ioasid::host
