// Wiring: the nodes, the loop, readiness and shutdown.
#pragma once

#include <string>

namespace ioasid {

struct Options {
    bool foreground = false;
    std::string iommufd_node = "ioasid";
    unsigned threads = 4;
    bool direct_memory = true;
    std::string stats_file;
};

// Runs until SIGTERM/SIGINT or a node fails; returns the exit status.
// `ready_fd`, when >= 0, gets one byte once every node exists.
int run_daemon(const Options& opts, int ready_fd);

}  // namespace ioasid
