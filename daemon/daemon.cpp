#include "daemon/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <grp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cuse/loop.h"
#include "daemon/control.h"
#include "daemon/device_registry.h"
#include "daemon/domain_pins.h"
#include "daemon/iommufd_handler.h"
#include "daemon/log.h"
#include "daemon/served.h"
#include "daemon/topology_watch.h"
#include "daemon/trace.h"
#include "host/caller.h"
#include "host/sysfs.h"
#include "host/topology_file.h"

#ifndef IOASIDD_VERSION
#define IOASIDD_VERSION "unknown"
#endif

namespace ioasid::daemon {

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

void write_stats(const std::string& path, const IommufdHandler& node) {
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

bool valid_node_name(const std::string& name) {
    return !name.empty() && name.front() != '/' && name.back() != '/' &&
           name.find("..") == std::string::npos && name.find("//") == std::string::npos;
}

bool valid_node_pattern(const std::string& pattern) {
    size_t at = pattern.find('%');
    return at != std::string::npos && pattern.compare(at, 2, "%u") == 0 &&
           pattern.find('%', at + 1) == std::string::npos && valid_node_name(pattern);
}

std::string node_name(const std::string& pattern, unsigned index) {
    size_t at = pattern.find("%u");
    return pattern.substr(0, at) + std::to_string(index) + pattern.substr(at + 2);
}

std::string describe_topology(const model::Topology& topo) {
    size_t host = 0, emulated = 0, viable = 0;
    for (const auto& [addr, d] : topo.devices()) (d.emulated() ? emulated : host)++;
    for (const auto& [id, g] : topo.groups()) viable += topo.viable(id);
    return std::to_string(host) + " host and " + std::to_string(emulated) +
           " emulated devices in " + std::to_string(topo.groups().size()) + " IOMMU groups, " +
           std::to_string(viable) + " of them viable";
}

namespace {

// The device number the kernel gave a CUSE node, from sysfs: the kernel
// turns the '/' of a name like "vfio/device0" into '!' there.
int cuse_devt(const std::string& devname, dev_t& out) {
    std::string name = devname;
    std::replace(name.begin(), name.end(), '/', '!');
    const std::string path = "/sys/class/cuse/" + name + "/dev";
    for (int tries = 0; tries < 1000; ++tries) {
        if (host::read_devnum(path, out)) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return -ENOENT;
}

}  // namespace

namespace {

bool open_iommufd_node(const Options& opts, model::SharedTopology& shared, Served& s) {
    if (!node_name_free(opts.iommufd_node)) return false;
    int fd = cuse::open_cuse_device();
    if (fd < 0) {
        LOG_ERROR("%s", describe_cuse_error(fd).c_str());
        return false;
    }
    s.iommufd = std::make_unique<IommufdHandler>(&shared, opts.test_ops);
    s.iommufd->domain_pins = [pins = s.pins](const model::Context& ctx) {
        return std::make_unique<DomainPins>(ctx, pins);
    };
    s.groups = std::make_unique<GroupFiles>(
        shared, *s.iommufd, [&s](const std::string& address, const GroupFiles::NodeFn& fn) {
            return with_device_node(s, address, fn);
        });
    s.iommufd->groups = s.groups.get();
    if (opts.test_ops)
        LOG_WARN("/dev/%s serves IOMMU_TEST_CMD (--test-ops): for tests only",
                 opts.iommufd_node.c_str());
    cuse::NodeConfig cfg;
    cfg.make_caller = host::make_caller;
    cfg.devname = opts.iommufd_node;
    cfg.direct_memory = opts.direct_memory;
    cfg.busy_poll = std::chrono::microseconds(opts.busy_poll_us);
    cfg.on_ready = [&s, name = opts.iommufd_node] {
        LOG_INFO("serving /dev/%s (iommufd ABI of Linux 6.12)", name.c_str());
        s.startup.node_ready();
    };
    std::string error;
    s.iommufd_node = cuse::CuseNode::create(cfg, *s.iommufd, fd, error);
    if (!s.iommufd_node) LOG_ERROR("%s", error.c_str());
    return s.iommufd_node != nullptr;
}

// /dev/ioasid first: the device nodes take its major and their BIND asks it.
bool bring_up(const Options& opts, model::SharedTopology& shared, Served& s) {
    s.loop.add(*s.iommufd_node);
    s.loop.start(opts.threads);
    if (!s.startup.wait(1)) return false;
    if (cuse_devt(opts.iommufd_node, s.iommufd_devt)) {
        LOG_ERROR("cannot find /dev/%s's device number in /sys/class/cuse",
                  opts.iommufd_node.c_str());
        return false;
    }
    return open_device_nodes(opts, shared, s) && s.startup.wait(1 + s.devices.size());
}

// Uevents are followed on the real sysfs only: a fake tree's devices are
// not the ones the kernel reports about.
void watch_topology(const Options& opts, model::SharedTopology& shared, Served& s) {
    if (opts.sysfs_root != "/sys") {
        LOG_INFO("sysfs root %s is not /sys: uevents are not followed", opts.sysfs_root.c_str());
        return;
    }
    s.watch = std::make_unique<TopologyWatch>(
        opts.sysfs_root, shared,
        [&opts, &s, &shared](const host::TopologyChange& c, const std::string& action) {
            topology_changed(opts, shared, s, c, action);
        });
    int rc = s.watch->start();
    if (rc) {
        LOG_WARN("cannot follow kernel uevents (%s): the topology stays as read at startup",
                 std::strerror(-rc));
        s.watch.reset();
    }
}

// The control socket, mode 0600 (0660 with --control-group), made before
// any node serves so that every event has somewhere to go, and started
// once the nodes are up. A daemon that cannot serve it still serves its
// nodes.
void make_control(const Options& opts, model::SharedTopology& shared, Served& s,
                  pthread_t main_thread) {
    if (opts.control_socket.empty()) return;
    gid_t gid = 0;
    if (!opts.control_group.empty()) {
        const group* g = ::getgrnam(opts.control_group.c_str());
        if (g)
            gid = g->gr_gid;
        else
            LOG_WARN("control: no group '%s'; the socket stays root's", opts.control_group.c_str());
    }
    s.control_ctx.reset(new ControlContext{
        shared,
        s.iommufd.get(),
        {},
        opts.iommufd_node,
        [&s] {
            return nlohmann::json{{"ioasid", s.iommufd->stats().to_json()}};
        },
        [main_thread] { pthread_kill(main_thread, SIGTERM); },
        [&opts, &shared, &s](const nlohmann::json& args, nlohmann::json& result,
                             CommandError& err) {
            return device_add(opts, shared, s, args, result, err);
        },
        [&shared, &s](const nlohmann::json& args, nlohmann::json& result, CommandError& err) {
            return device_del(shared, s, args, result, err);
        },
        [&s](bool on) { s.trace->set(on); },
        [&s](const model::Context& c) { return s.pins->charged(&c); }});
    s.control = std::make_unique<ControlServer>(opts.control_socket, gid ? 0660 : 0600, gid,
                                                IOASIDD_VERSION, control_commands(*s.control_ctx));
    s.trace = std::make_unique<Trace>(s.control.get());
    s.iommufd->trace = s.trace.get();
    s.iommufd->node_name = opts.iommufd_node;
    ControlServer& control = *s.control;
    s.iommufd->on_open_close = [&control](const IommufdFile& f, bool opened) {
        control.emit(opened ? "CLIENT_OPENED" : "CLIENT_CLOSED",
                     {{"client", f.id}, {"pid", f.opener_tgid}, {"uid", f.opener_uid}});
    };
}

// The folder a socket goes in (/run/ioasidd by default), made if it is not
// there. A bare name has none to make.
void make_socket_dir(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) ::mkdir(path.substr(0, slash).c_str(), 0755);
}

void start_control(const Options& opts, Served& s) {
    if (!s.control) return;
    {
        std::scoped_lock lock(s.devices_mutex, s.control_ctx->nodes_mutex);
        for (const ServedDevice& d : s.devices)
            s.control_ctx->nodes[d.handler->address()] = d.node->devname();
    }
    make_socket_dir(opts.control_socket);
    int rc = s.control->start();
    if (rc)
        LOG_WARN("control: cannot serve %s: %s", opts.control_socket.c_str(), std::strerror(-rc));
    else
        LOG_INFO("control socket %s", opts.control_socket.c_str());
}

// The VMM channel's socket, beside the control socket by default.
void start_vmm_channel(const Options& opts, Served& s) {
    if (opts.vmm_socket.empty()) return;
    make_socket_dir(opts.vmm_socket);
    s.vmm_channel = std::make_unique<VmmChannel>(
        opts.vmm_socket, [&s](int file, pid_t peer, const auto& req, auto& reply, auto& out) {
            return vmm_channel_request(s, file, peer, req, reply, out);
        });
    if (int rc = s.vmm_channel->start())
        LOG_WARN("vmm channel: cannot serve %s: %s", opts.vmm_socket.c_str(), std::strerror(-rc));
    else
        LOG_INFO("vmm channel %s", opts.vmm_socket.c_str());
}

}  // namespace

int run_daemon(const Options& opts, model::SharedTopology& shared, int ready_fd) {
    LOG_INFO("topology: %s", describe_topology(shared.topo).c_str());
    sigset_t sigs = waited_signals();
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by every worker
    signal(SIGPIPE, SIG_IGN);
    const pthread_t main_thread = pthread_self();

    Served s;
    s.forwarding = std::make_unique<Forwarding>(opts.vfio_api == "legacy" ? host::VfioApi::Legacy
                                                : opts.vfio_api == "cdev" ? host::VfioApi::Cdev
                                                                          : host::VfioApi::Auto);
    if (!opts.device_dirs.empty()) s.device_dirs = std::make_unique<DeviceDirs>(opts.device_dirs);
    if (!open_iommufd_node(opts, shared, s)) return 1;
    make_control(opts, shared, s, main_thread);
    s.loop.on_node_exit([&s, main_thread](cuse::CuseNode& n) {
        if (!n.ready())
            LOG_ERROR("the kernel refused /dev/%s (is the name already taken?)",
                      n.devname().c_str());
        else
            LOG_ERROR("the CUSE session of /dev/%s ended", n.devname().c_str());
        s.node_failed = true;
        s.startup.node_failed();
        pthread_kill(main_thread, SIGUSR1);
    });
    const bool up = bring_up(opts, shared, s);
    if (up) {
        start_control(opts, s);
        start_vmm_channel(opts, s);
        watch_topology(opts, shared, s);
        sd_notifyf(0, "READY=1\nSTATUS=serving /dev/%s and %zu device nodes",
                   opts.iommufd_node.c_str(), s.devices.size());
        if (ready_fd >= 0) {
            [[maybe_unused]] ssize_t n = ::write(ready_fd, "R", 1);
        }
        int sig = 0;
        sigwait(&sigs, &sig);
        if (!s.node_failed) LOG_INFO("%s, shutting down", strsignal(sig));
    } else if (!s.node_failed) {
        LOG_ERROR("the nodes did not come up");
    }
    sd_notify(0, "STOPPING=1");
    if (s.vmm_channel) s.vmm_channel->stop();
    if (s.control) s.control->stop();
    if (s.watch) s.watch->stop();
    s.loop.stop();
    s.loop.join();
    write_stats(opts.stats_file, *s.iommufd);
    return up && !s.node_failed ? 0 : 1;
}

}  // namespace ioasid::daemon
