// The daemon's own multi-threaded loop over every CUSE node.
//
// Workers share one epoll set. Each node's fd is armed one-shot: the worker
// that wins it reads one request, re-arms the fd and only then processes the
// request, so a slow request never holds up the next one on the same node
// (a device node's BIND asks the /dev/ioasid node a question while it waits).
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cuse/node.h"

namespace ioasid::cuse {

class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // The node must outlive the loop's run.
    int add(CuseNode& node);
    // Called (from a worker) when a node's session ends.
    void on_node_exit(std::function<void(CuseNode&)> fn) { on_exit_ = std::move(fn); }

    void start(unsigned workers);
    // Safe from any thread; workers finish the request they hold and return.
    void stop();
    void join();

private:
    int epoll_fd_ = -1;
    int stop_fd_ = -1;
    std::vector<std::thread> workers_;
    std::function<void(CuseNode&)> on_exit_;
    std::mutex exit_mutex_;

    void work();
    void rearm(CuseNode& node);
};

}  // namespace ioasid::cuse
