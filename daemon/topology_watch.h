// Keeps the topology current from the kernel's uevents, on a thread of its
// own, and tells the daemon when a group's viability changes (a group that
// stops being viable has the nodes of its devices revoked) or a device is
// bound to vfio-pci or leaves it (its forwarded node comes or goes).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "host/uevent_monitor.h"
#include "host/unique_fd.h"
#include "model/topology.h"

namespace ioasid::daemon {

class TopologyWatch {
  public:
    // Called without the topology's lock held; `action` is the uevent's.
    using Changed =
        std::function<void(const host::TopologyChange& change, const std::string& action)>;

    TopologyWatch(std::string sysfs, model::SharedTopology& topology, Changed changed);
    ~TopologyWatch();
    TopologyWatch(const TopologyWatch&) = delete;
    TopologyWatch& operator=(const TopologyWatch&) = delete;

    // Subscribes, catches up with what changed since the topology was read,
    // and follows from then on. -errno when the host has no uevents for us.
    int start();
    void stop();

  private:
    const std::string sysfs_;
    model::SharedTopology& topology_;
    Changed changed_;
    host::UeventMonitor monitor_;
    host::UniqueFd wake_;
    std::thread thread_;

    void run();
    void resync();
    void report(const host::TopologyChange& change, const char* action);
};

}  // namespace ioasid::daemon
