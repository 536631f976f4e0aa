// The daemon's own multi-threaded loop over every CUSE node.
//
// Each node gets its own workers, each blocked in read() on the node's fd as
// libfuse's own loop does: the kernel hands every request to exactly one
// reader, and a request costs no more system calls than the read itself.
// Separate workers per node also mean a node never waits for another's
// worker (a device node's BIND asks the /dev/ioasid node a question while it
// waits). Workers are woken for shutdown with a signal that interrupts read().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
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

    // The node must outlive the loop's run. A node added after start() is
    // served at once, by `workers` threads (0: as many as start() gave).
    int add(CuseNode& node, unsigned workers = 0);
    // Called once per node (from a worker) when its session ends.
    void on_node_exit(std::function<void(CuseNode&)> fn) { on_exit_ = std::move(fn); }

    // Stops serving `node`: its workers finish the request they hold and
    // end. The node may then be destroyed.
    void remove(CuseNode& node);

    void start(unsigned workers_per_node);
    // Safe from any thread; workers finish the request they hold and return.
    void stop();
    void join();

  private:
    struct Served {
        CuseNode* node;
        std::atomic<bool> exited{false};
        std::atomic<bool> removed{false};
    };
    struct Worker {
        std::thread thread;
        Served* served = nullptr;
        std::atomic<bool> done{false};
    };

    std::mutex mutex_;  // nodes_, workers_, started_
    unsigned workers_per_node_ = 1;
    bool started_ = false;
    std::vector<std::unique_ptr<Served>> nodes_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<bool> stopping_{false};
    std::function<void(CuseNode&)> on_exit_;
    std::mutex exit_mutex_;

    void spawn(Served& served, unsigned count);
    static void wake_and_join(Worker& w);
    void work(Served& served, Worker& self);
};

}  // namespace ioasid::cuse
