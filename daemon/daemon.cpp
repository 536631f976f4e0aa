#include "daemon/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>

#include "cuse/loop.h"
#include "daemon/iommufd_node.h"
#include "daemon/log.h"
#include "host/sysfs.h"
#include "host/topology_file.h"

namespace ioasid {

namespace {

// Signals the main thread waits for; SIGUSR1 is our own "a node died".
sigset_t waited_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaddset(&set, s);
    return set;
}

std::string describe_cuse_error(int err) {
    if (err == -ENOENT || err == -ENODEV)
        return "this kernel has no CUSE (/dev/cuse is missing): load it with 'modprobe cuse', "
               "or on a kernel built without CONFIG_CUSE run ioasidd in the test VM "
               "(tests/vm/run-daemon.sh)";
    return std::string("cannot open /dev/cuse: ") + std::strerror(-err);
}

void write_stats(const std::string& path, const IommufdNode& node) {
    if (path.empty()) return;
    std::ofstream out(path);
    out << nlohmann::json{{"ioasid", node.stats().to_json()}}.dump(2) << "\n";
    if (!out) LOG_WARN("cannot write statistics to %s", path.c_str());
}

}  // namespace

bool build_topology(const Options& opts, model::Topology& topo, std::string& error) {
    std::vector<std::string> notes;
    host::scan_sysfs(opts.sysfs_root, topo, notes);
    for (const std::string& n : notes) LOG_DEBUG("sysfs: %s", n.c_str());
    std::string text = host::default_topology_json();
    if (!opts.topology_file.empty()) {
        std::ifstream in(opts.topology_file);
        if (!in) {
            error = "cannot read " + opts.topology_file;
            return false;
        }
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (!host::load_topology_json(text, topo, error)) {
        error =
            (opts.topology_file.empty() ? std::string("built-in topology") : opts.topology_file) +
            ": " + error;
        return false;
    }
    return true;
}

std::string describe_topology(const model::Topology& topo) {
    size_t host = 0, emulated = 0, viable = 0;
    for (const auto& [addr, d] : topo.devices()) (d.emulated() ? emulated : host)++;
    for (const auto& [id, g] : topo.groups()) viable += topo.viable(id);
    return std::to_string(host) + " host and " + std::to_string(emulated) +
           " emulated devices in " + std::to_string(topo.groups().size()) + " IOMMU groups, " +
           std::to_string(viable) + " of them viable";
}

int run_daemon(const Options& opts, model::Topology& topo, int ready_fd) {
    LOG_INFO("topology: %s", describe_topology(topo).c_str());
    sigset_t sigs = waited_signals();
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by every worker
    signal(SIGPIPE, SIG_IGN);
    const pthread_t main_thread = pthread_self();

    int fd = cuse::open_cuse_device();
    if (fd < 0) {
        LOG_ERROR("%s", describe_cuse_error(fd).c_str());
        return 1;
    }

    IommufdNode iommufd;
    const std::string devpath = "/dev/" + opts.iommufd_node;
    cuse::NodeConfig cfg;
    cfg.devname = opts.iommufd_node;
    cfg.direct_memory = opts.direct_memory;
    cfg.on_ready = [&] {
        LOG_INFO("serving %s (iommufd ABI of Linux 6.12)", devpath.c_str());
        sd_notifyf(0, "READY=1\nSTATUS=serving %s", devpath.c_str());
        if (ready_fd >= 0) {
            [[maybe_unused]] ssize_t n = ::write(ready_fd, "R", 1);
        }
    };
    std::string error;
    std::unique_ptr<cuse::CuseNode> node = cuse::CuseNode::create(cfg, iommufd, fd, error);
    if (!node) {
        LOG_ERROR("%s", error.c_str());
        return 1;
    }

    std::atomic<bool> node_failed{false};
    cuse::Loop loop;
    loop.on_node_exit([&](cuse::CuseNode& n) {
        if (!n.ready())
            LOG_ERROR("the kernel refused /dev/%s (is the name already taken?)",
                      n.devname().c_str());
        else
            LOG_ERROR("the CUSE session of /dev/%s ended", n.devname().c_str());
        node_failed = true;
        pthread_kill(main_thread, SIGUSR1);
    });
    loop.add(*node);
    loop.start(opts.threads);

    int sig = 0;
    sigwait(&sigs, &sig);
    if (!node_failed) LOG_INFO("%s, shutting down", strsignal(sig));
    sd_notify(0, "STOPPING=1");
    loop.stop();
    loop.join();
    write_stats(opts.stats_file, iommufd);
    node.reset();  // closes the session: the kernel removes the node
    return node_failed ? 1 : 0;
}

}  // namespace ioasid
