// A thread that waits on eventfds and runs a callback each time one is
// signalled (its count consumed first): what the kernel's virqfd does for
// vfio-pci's ioeventfds. Callbacks run on that thread, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "host/unique_fd.h"

namespace ioasid::host {

class EventfdWatcher {
  public:
    EventfdWatcher();
    // Stops the thread and waits for it: a callback it runs must not need a
    // lock the destroying thread holds.
    ~EventfdWatcher();
    EventfdWatcher(const EventfdWatcher&) = delete;
    EventfdWatcher& operator=(const EventfdWatcher&) = delete;

    // Watches `fd` (taken) until `handle` is dropped; a callback the thread
    // has already picked up may still run after that, so it checks under
    // its own lock that it is still wanted. 0 or -errno.
    int watch(UniqueFd fd, std::function<void()> fired, std::shared_ptr<void>& handle);

  private:
    struct Watch {
        UniqueFd fd;
        std::function<void()> fired;
    };
    // Shared with the handles, which may outlive the watcher.
    struct State {
        UniqueFd epoll, stop;
        std::mutex mutex;
        std::map<uint64_t, std::shared_ptr<Watch>> watches;
        uint64_t next = 1;
        void remove(uint64_t key);
    };
    static void run(std::shared_ptr<State> state);

    std::shared_ptr<State> state_ = std::make_shared<State>();
    std::thread thread_;
};

}  // namespace ioasid::host
