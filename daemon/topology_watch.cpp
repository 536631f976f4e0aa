#include "daemon/topology_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "daemon/log.h"

namespace ioasid::daemon {

TopologyWatch::TopologyWatch(std::string sysfs, model::SharedTopology& topology, Changed changed)
    : sysfs_(std::move(sysfs)), topology_(topology), changed_(std::move(changed)) {}

TopologyWatch::~TopologyWatch() {
    stop();
}

int TopologyWatch::start() {
    int rc = monitor_.open();
    if (rc) return rc;
    wake_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!wake_) return -errno;
    // Subscribed first, then read again: nothing falls between the two.
    resync();
    thread_ = std::thread([this] { run(); });
    return 0;
}

void TopologyWatch::stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    thread_.join();
}

void TopologyWatch::report(const host::TopologyChange& c, const char* action) {
    const char* now = c.now_viable ? "viable" : "not viable";
    if (c.viability_changed())
        LOG_INFO("%s %s: IOMMU group %u is now %s", c.address.c_str(), action, c.group, now);
    else
        LOG_DEBUG("%s %s: IOMMU group %u stays %s", c.address.c_str(), action, c.group, now);
    if (c.vfio_changed())
        LOG_INFO("%s %s: %s vfio-pci", c.address.c_str(), action,
                 c.now_vfio ? "bound to" : "no longer bound to");
    if (c.viability_changed() || c.vfio_changed()) changed_(c, action);
}

void TopologyWatch::resync() {
    std::vector<host::TopologyChange> changes;
    {
        std::lock_guard lock(topology_.mutex);
        changes = host::resync_from_sysfs(sysfs_, topology_.topo);
    }
    for (const auto& c : changes) report(c, "changed");
}

void TopologyWatch::run() {
    pollfd fds[2] = {{monitor_.fd(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    while (::poll(fds, 2, -1) >= 0 || errno == EINTR) {
        if (fds[1].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        host::Uevent ev;
        int rc;
        while ((rc = monitor_.receive(ev)) != 0) {
            if (rc == -ENOBUFS) {
                LOG_WARN("uevents were lost; reading sysfs again");
                resync();
                continue;
            }
            if (rc < 0) {
                LOG_ERROR("uevents: %s; the topology is no longer followed", std::strerror(-rc));
                return;
            }
            host::TopologyChange change;
            bool changed;
            {
                std::lock_guard lock(topology_.mutex);
                changed = host::apply_uevent(sysfs_, ev, topology_.topo, change);
            }
            if (changed) report(change, ev.action.c_str());
        }
    }
}

}  // namespace ioasid::daemon
