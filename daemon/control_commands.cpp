#include "daemon/control_commands.h"

#include <cstdio>
#include <mutex>

#include "daemon/log.h"

#ifndef IOASIDD_VERSION
#define IOASIDD_VERSION "unknown"
#endif

namespace ioasid {

using nlohmann::json;

namespace {

std::string hex(unsigned v, int width) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%0*x", width, v);
    return buf;
}

json device_json(const model::PciDevice& d, const std::map<std::string, std::string>& nodes) {
    json j = {{"address", d.address},       {"vendor", hex(d.vendor, 4)},
              {"device", hex(d.device, 4)}, {"class", hex(d.class_code, 6)},
              {"driver", d.driver},         {"emulated", d.emulated()}};
    if (d.emulated()) j["model"] = d.model;
    auto it = nodes.find(d.address);
    j["node"] = it == nodes.end() ? json() : json("/dev/" + it->second);
    return j;
}

bool set_log_level(const json& args, json&, CommandError& err) {
    log::Level level;
    if (!args.contains("level") || !args["level"].is_string()) {
        err = {"GenericError", "set-log-level wants {\"level\": \"error|warning|info|debug\"}"};
        return false;
    }
    if (!log::parse_level(args["level"], level)) {
        err = {"GenericError", "unknown log level '" + args["level"].get<std::string>() + "'"};
        return false;
    }
    log::set_level(level);
    return true;
}

}  // namespace

json topology_json(const model::Topology& topo, const std::map<std::string, std::string>& nodes) {
    json groups = json::array();
    for (const auto& [id, g] : topo.groups()) {
        json devs = json::array();
        for (const std::string& addr : g.devices)
            if (const model::PciDevice* d = topo.device(addr))
                devs.push_back(device_json(*d, nodes));
        groups.push_back({{"id", id},
                          {"viable", topo.viable(id)},
                          {"blocking", topo.blocking_devices(id)},
                          {"owned", g.owner != nullptr},
                          {"devices", devs}});
    }
    return {{"groups", groups}};
}

ControlServer::Execute control_commands(ControlContext& ctx) {
    return [&ctx](const std::string& name, const json& args, const Peer& peer, json& result,
                  CommandError& err) {
        if (name == "query-version") {
            result = {{"version", IOASIDD_VERSION},
                      {"abi", "Linux 6.12 iommufd and VFIO device cdev"},
                      {"iommufd_node", "/dev/" + ctx.iommufd_node}};
            return true;
        }
        if (name == "query-topology") {
            std::lock_guard lock(ctx.topology.mutex);
            result = topology_json(ctx.topology.topo, ctx.nodes);
            return true;
        }
        if (name == "query-stats") {
            result = ctx.stats();
            return true;
        }
        if (name == "set-log-level") {
            result = json::object();
            return set_log_level(args, result, err);
        }
        if (name == "quit") {
            LOG_INFO("control: quit asked by pid %d uid %u", peer.pid, peer.uid);
            result = json::object();
            ctx.quit();
            return true;
        }
        err = {"CommandNotFound", "the command " + name + " has not been found"};
        return false;
    };
}

}  // namespace ioasid
