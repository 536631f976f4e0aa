#define FUSE_USE_VERSION 34
#include "cuse/loop.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

namespace ioasid::cuse {

namespace {

// SIGUSR2 interrupts a worker's read(): a handler without SA_RESTART makes
// the read return EINTR, after which the worker sees the stop flag.
constexpr int kWakeSignal = SIGUSR2;

void install_wake_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        sigaction(kWakeSignal, &sa, nullptr);
    });
}

}  // namespace

Loop::Loop() {
    install_wake_handler();
}

Loop::~Loop() {
    stop();
    join();
}

int Loop::add(CuseNode& node, unsigned workers) {
    auto served = std::make_unique<Served>();
    served->node = &node;
    std::lock_guard lock(mutex_);
    if (started_) spawn(*served, workers ? workers : workers_per_node_);
    nodes_.push_back(std::move(served));
    return 0;
}

void Loop::start(unsigned workers_per_node) {
    std::lock_guard lock(mutex_);
    workers_per_node_ = workers_per_node ? workers_per_node : 1;
    started_ = true;
    for (auto& served : nodes_) spawn(*served, workers_per_node_);
}

void Loop::spawn(Served& served, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
        auto w = std::make_unique<Worker>();
        w->served = &served;
        Worker& self = *w;
        w->thread = std::thread([this, &served, &self] { work(served, self); });
        workers_.push_back(std::move(w));
    }
}

void Loop::stop() {
    stopping_ = true;
}

void Loop::wake_and_join(Worker& w) {
    // A signal sent just before the worker enters read() is lost: repeat.
    while (!w.done) {
        pthread_kill(w.thread.native_handle(), kWakeSignal);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    w.thread.join();
}

void Loop::join() {
    std::lock_guard lock(mutex_);
    if (workers_.empty()) return;
    stopping_ = true;
    for (auto& w : workers_) wake_and_join(*w);
    workers_.clear();
}

void Loop::remove(CuseNode& node) {
    std::lock_guard lock(mutex_);
    auto it =
        std::find_if(nodes_.begin(), nodes_.end(), [&](const auto& s) { return s->node == &node; });
    if (it == nodes_.end()) return;
    (*it)->removed = true;
    std::erase_if(workers_, [&](const std::unique_ptr<Worker>& w) {
        if (w->served != it->get()) return false;
        wake_and_join(*w);
        return true;
    });
    nodes_.erase(it);
}

void Loop::work(Served& served, Worker& self) {
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, kWakeSignal);
    pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
    fuse_buf buf{};
    CuseNode& node = *served.node;
    while (!stopping_ && !served.removed) {
        int rc = node.receive(buf);
        if (rc > 0) {
            node.process(buf);
        } else if (rc == -EINTR || rc == -EAGAIN) {
            continue;
        } else {
            // The kernel (or the harness) closed the session: report it once.
            if (!served.exited.exchange(true)) {
                std::lock_guard lock(exit_mutex_);
                if (on_exit_) on_exit_(node);
            }
            break;
        }
    }
    std::free(buf.mem);
    self.done = true;
}

}  // namespace ioasid::cuse
