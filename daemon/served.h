// What the daemon serves and the state its threads share: the nodes, the
// loop that drives them, the control socket, and the startup handshake.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cuse/loop.h"
#include "cuse/node.h"
#include "daemon/control.h"
#include "daemon/control_commands.h"
#include "daemon/device_dirs.h"
#include "daemon/device_node.h"
#include "daemon/forwarding.h"
#include "daemon/group_files.h"
#include "daemon/iommufd_handler.h"
#include "daemon/topology_watch.h"
#include "daemon/trace.h"
#include "daemon/vmm_channel.h"
#include "model/pin_ledger.h"

namespace ioasid::daemon {

// The kernel's answers to our CUSE_INITs: the main thread waits for them
// before it creates the nodes that depend on them, and before READY=1.
class Startup {
  public:
    void node_ready() {
        std::lock_guard lock(mutex_);
        ++ready_;
        cv_.notify_all();
    }
    void node_failed() {
        std::lock_guard lock(mutex_);
        failed_ = true;
        cv_.notify_all();
    }
    size_t ready() {
        std::lock_guard lock(mutex_);
        return ready_;
    }
    // True once `count` nodes are ready; false when one failed or time ran out.
    bool wait(size_t count) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
            return failed_ || ready_ >= count;
        }) && !failed_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    size_t ready_ = 0;
    bool failed_ = false;
};

struct ServedDevice {
    std::unique_ptr<DeviceNode> handler;
    std::unique_ptr<cuse::CuseNode> node;
};

// Everything the daemon serves, in the order it must be torn down (members
// go in reverse): the loop's workers first, then the device nodes, then
// /dev/ioasid, whose contexts the devices may still hold.
struct Served {
    Startup startup;
    std::unique_ptr<IommufdHandler> iommufd;
    std::unique_ptr<cuse::CuseNode> iommufd_node;
    // Its opens made groups (/dev/vfio/N).
    std::unique_ptr<GroupFiles> groups;
    // Device nodes come and go (device-add, device-del) while the topology
    // watch reads them: the list and its order are guarded.
    std::mutex devices_mutex;
    std::list<ServedDevice> devices;
    // The same nodes by address, for the group files (GroupFiles::WithNode).
    // Its lock is never held while a CUSE question waits: the group files'
    // callers are /dev/ioasid's workers, which a device's BIND may be
    // waiting for while the list's lock is held elsewhere.
    std::mutex by_address_mutex;
    std::map<std::string, std::pair<DeviceNode*, std::string>> by_address;
    // Their sysfsdev directories (null: none published).
    std::unique_ptr<DeviceDirs> device_dirs;
    unsigned next_index = 0;
    dev_t iommufd_devt = 0;
    std::unique_ptr<Forwarding> forwarding;
    // The pages the IOASes' domains pin, charged to their clients (shared:
    // a context and its IOASes may outlive Served at shutdown).
    std::shared_ptr<model::PinLedger> pins = std::make_shared<model::PinLedger>();
    std::unique_ptr<TopologyWatch> watch;
    std::unique_ptr<ControlContext> control_ctx;
    std::unique_ptr<ControlServer> control;
    std::unique_ptr<Trace> trace;
    // Asks the device nodes (so it stops before the loop that serves them).
    std::unique_ptr<VmmChannel> vmm_channel;
    cuse::Loop loop;
    std::atomic<bool> node_failed{false};

    ~Served() {
        if (vmm_channel) vmm_channel->stop();
        if (control) control->stop();
        if (watch) watch->stop();
        loop.stop();
        loop.join();
    }
};

}  // namespace ioasid::daemon
