// The control socket's commands (see daemon/control.h for the protocol):
//   query-version, query-topology, query-clients, query-ioas {"client",
//   "ioas"}, query-stats, set-log-level {"level"}, quit,
//   device-add {"groups": [...]} (the topology file's JSON), device-del {"address"},
//   trace-start, trace-stop (IOCTL events)
// and the events the daemon emits: CLIENT_OPENED, CLIENT_CLOSED,
// DEVICE_ADDED, DEVICE_REMOVED, GROUP_VIABILITY_CHANGED, DEVICE_REVOKED,
// DMA_FAULT, IOCTL (while tracing).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/control.h"
#include "model/topology.h"

namespace ioasid::daemon {

class IommufdHandler;

using HotplugFn =
    std::function<bool(const nlohmann::json& args, nlohmann::json& result, CommandError& err)>;

struct ControlContext {
    model::SharedTopology& topology;
    IommufdHandler* iommufd;                   // null in tests without one
    std::map<std::string, std::string> nodes;  // device address -> node under /dev
    std::string iommufd_node;
    std::function<nlohmann::json()> stats;
    std::function<void()> quit;
    HotplugFn device_add = nullptr, device_del = nullptr;  // null: not offered
    std::function<void(bool on)> set_trace = nullptr;
    // Pages charged to RLIMIT_MEMLOCK for a client's pins; null: none are.
    std::function<uint64_t(const model::Context&)> charged_pages = nullptr;
    std::mutex nodes_mutex{};  // nodes change with hot-plug
};

ControlServer::Execute control_commands(ControlContext& ctx);

// The topology as query-topology answers it (groups -> devices).
nlohmann::json topology_json(const model::Topology& topo,
                             const std::map<std::string, std::string>& nodes);

}  // namespace ioasid::daemon
