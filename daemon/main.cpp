// ioasidd: the device-centric VFIO interface (iommufd) served from userspace.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "daemon/daemon.h"
#include "daemon/log.h"

#ifndef IOASIDD_VERSION
#define IOASIDD_VERSION "unknown"
#endif

namespace {

// Forks into the background; the parent exits once the child is serving (0)
// or has failed (1), so "ioasidd && use /dev/ioasid" works without a race.
int daemonize_and_run(const ioasid::daemon::Options& opts, ioasid::model::SharedTopology& topo) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC)) {
        perror("ioasidd: pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("ioasidd: fork");
        return 1;
    }
    if (pid > 0) {
        close(pipefd[1]);
        char c;
        return read(pipefd[0], &c, 1) == 1 ? 0 : 1;
    }
    close(pipefd[0]);
    setsid();
    if (chdir("/")) return 1;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO) close(null);
    }
    return ioasid::daemon::run_daemon(opts, topo, pipefd[1]);
}

// The daemon holds descriptors for its clients (pidfds of the processes
// that map, their eventfds, /proc entries), and nothing here uses select():
// the soft limit of 1024 kept for select()'s sake would cap the clients.
void raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

void add_options(CLI::App& app, ioasid::daemon::Options& opts, std::string& level) {
    app.set_version_flag("--version", std::string("ioasidd ") + IOASIDD_VERSION);
    app.add_flag("-f,--foreground", opts.foreground, "Stay in the foreground");
    app.add_option("--iommufd-node", opts.iommufd_node,
                   "Name of the iommufd node under /dev ('iommu' gives the upstream name)")
        ->capture_default_str();
    app.add_option("--log-level", level, "error, warning, info or debug")->capture_default_str();
    app.add_option("--threads", opts.threads, "Worker threads serving the nodes")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_flag("!--no-direct-memory", opts.direct_memory,
                 "Never read callers' memory with process_vm_readv; always use the CUSE "
                 "ioctl retry protocol");
    app.add_option("--busy-poll-us", opts.busy_poll_us,
                   "After each request, one worker per node keeps reading for this long "
                   "before it sleeps: lower latency for requests that follow closely, for a "
                   "CPU kept busy meanwhile (0: off)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    app.add_option("--stats-file", opts.stats_file,
                   "Write per-command statistics as JSON here on exit");
    app.add_option("--sysfs-root", opts.sysfs_root,
                   "Where sysfs is mounted (a fake tree for tests)")
        ->capture_default_str();
    app.add_option("--topology", opts.topology_file,
                   "JSON file of emulated devices and groups (default: a built-in demo with an "
                   "edu device and a group of two memory-BAR devices)");
    app.add_option("--device-node-pattern", opts.device_node_pattern,
                   "Names of the device nodes under /dev, %u numbering them "
                   "('vfio/devices/vfio%u' gives the upstream names)")
        ->capture_default_str();
    app.add_option("--device-dirs", opts.device_dirs,
                   "A directory per device node for QEMU's -device vfio-pci,sysfsdev= "
                   "(ROOT/<PCI address>; with the upstream node names; empty: none)")
        ->capture_default_str();
    app.add_option("--control-socket", opts.control_socket, "The JSON control socket (empty: none)")
        ->capture_default_str();
    app.add_option("--control-group", opts.control_group,
                   "A group that may use the control socket besides root (mode 0660)");
    app.add_option("--vmm-socket", opts.vmm_socket,
                   "Where libioasid-preload.so asks for the files CUSE cannot hand it "
                   "(a forwarded BAR's mmap, KVM's VFIO file; empty: none)")
        ->capture_default_str();
    app.add_option("--vfio-api", opts.vfio_api,
                   "How host devices bound to vfio-pci are forwarded: auto (the kernel's iommufd "
                   "and VFIO cdev where it has them, else the legacy container API), legacy, cdev")
        ->check(CLI::IsMember({"auto", "legacy", "cdev"}))
        ->capture_default_str();
    app.add_flag("--test-ops", opts.test_ops,
                 "Serve IOMMU_TEST_CMD (a kernel's CONFIG_IOMMUFD_TEST: mock domains, accesses) "
                 "for the kernel's iommufd selftest; for tests only");
}

// The options CLI11 cannot check alone, and the log level set; false after
// saying what is wrong.
bool accept(const ioasid::daemon::Options& opts, const std::string& level) {
    ioasid::log::Level lvl;
    if (!ioasid::log::parse_level(level, lvl)) {
        std::fprintf(stderr, "ioasidd: unknown log level '%s'\n", level.c_str());
        return false;
    }
    ioasid::log::set_level(lvl);
    if (!ioasid::daemon::valid_node_name(opts.iommufd_node)) {
        std::fprintf(stderr, "ioasidd: --iommufd-node wants a name under /dev, like 'ioasid'\n");
        return false;
    }
    if (!ioasid::daemon::valid_node_pattern(opts.device_node_pattern)) {
        std::fprintf(stderr,
                     "ioasidd: --device-node-pattern wants a name under /dev with one %%u, "
                     "like 'vfio/device%%u'\n");
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    ioasid::daemon::Options opts;
    std::string level = "info";
    CLI::App app{"ioasidd: serves the iommufd ABI (/dev/iommu of Linux 6.12) through CUSE"};
    add_options(app, opts, level);
    CLI11_PARSE(app, argc, argv);
    if (!accept(opts, level)) return 2;
    raise_fd_limit();
    ioasid::model::SharedTopology topo;
    std::string error;
    if (!ioasid::daemon::build_topology(opts, topo.topo, error)) {
        std::fprintf(stderr, "ioasidd: %s\n", error.c_str());
        return 2;
    }
    return opts.foreground ? ioasid::daemon::run_daemon(opts, topo, -1)
                           : daemonize_and_run(opts, topo);
}
