// Wiring: the nodes, the loop, readiness and shutdown.
#pragma once

#include <string>

#include "ioasid/ioasidd.h"
#include "model/topology.h"

namespace ioasid::daemon {

struct Options {
    bool foreground = false;
    std::string iommufd_node = "ioasid";
    unsigned threads = 4;
    bool direct_memory = true;
    // cuse::NodeConfig::busy_poll, in microseconds (0: off).
    unsigned busy_poll_us = 0;
    std::string stats_file;
    std::string sysfs_root = "/sys";
    std::string topology_file;  // empty: the built-in demo
    // The device nodes' names under /dev, with one %u for the device's number.
    std::string device_node_pattern = "vfio/device%u";
    // Where each node's sysfs-like directory goes (DeviceDirs; empty: none).
    std::string device_dirs = "/run/ioasidd/devices";
    // How host devices bound to vfio-pci are forwarded: "auto" (the kernel's
    // iommufd and cdev where it has them, else the legacy container API),
    // "legacy" or "cdev".
    std::string vfio_api = "auto";
    // The JSON control socket (empty: none), and the group that may use it
    // besides root (empty: root only).
    std::string control_socket = "/run/ioasidd/control.sock";
    std::string control_group;
    // The VMM channel's socket (ioasid/ioasidd.h; empty: none).
    std::string vmm_socket = IOASIDD_CHANNEL_PATH;
    // IOMMU_TEST_CMD on /dev/ioasid, as a kernel with CONFIG_IOMMUFD_TEST.
    bool test_ops = false;
};

// Whether `name` is usable as a node name under /dev (no "..", not absolute).
bool valid_node_name(const std::string& name);
// Whether `pattern` is a node name with exactly one %u and no other '%'.
bool valid_node_pattern(const std::string& pattern);
std::string node_name(const std::string& pattern, unsigned index);

// The host's devices from sysfs plus the emulated ones of the topology file
// (or the built-in demo). False and a message when the file is unusable.
bool build_topology(const Options& opts, model::Topology& topo, std::string& error);
std::string describe_topology(const model::Topology& topo);

// Runs until SIGTERM/SIGINT or a node fails; returns the exit status.
// `ready_fd`, when >= 0, gets one byte once every node exists.
int run_daemon(const Options& opts, model::SharedTopology& topology, int ready_fd);

}  // namespace ioasid::daemon
