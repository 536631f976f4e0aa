#include "daemon/control_commands.h"

#include <cstdio>
#include <mutex>

#include "daemon/iommufd_handler.h"
#include "daemon/log.h"

#ifndef IOASIDD_VERSION
#define IOASIDD_VERSION "unknown"
#endif

namespace ioasid::daemon {

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

// One open of /dev/ioasid and what it holds.
json client_json(ControlContext& ctx, IommufdFile& f) {
    const uint64_t charged = ctx.charged_pages ? ctx.charged_pages(f.ctx) : 0;
    std::lock_guard lock(f.ctx.mutex());
    json ioas = json::array(), hwpts = json::array(), devices = json::array();
    for (const auto& [id, obj] : f.ctx.objects().all()) {
        if (obj->type == model::ObjectType::Ioas) ioas.push_back(id);
        if (obj->type == model::ObjectType::HwptPaging) hwpts.push_back(id);
        if (obj->type == model::ObjectType::Device) {
            const auto& d = static_cast<const model::DeviceObject&>(*obj);
            devices.push_back({{"dev_id", id}, {"address", d.address}, {"hwpt", d.hwpt}});
        }
    }
    return {{"client", f.id},
            {"kind", f.ctx.vfio_container().on ? "container" : "iommufd"},
            {"pid", f.opener_tgid},
            {"uid", f.opener_uid},
            {"ioas", ioas},
            {"hwpts", hwpts},
            {"devices", devices},
            {"memlock_kib", charged * 4},
            {"memlock_per", f.ctx.account_mode() == model::AccountMode::Mm ? "process" : "user"}};
}

bool query_ioas(ControlContext& ctx, const json& args, json& result, CommandError& err) {
    if (!args.contains("client") || !args["client"].is_number_unsigned() ||
        !args.contains("ioas") || !args["ioas"].is_number_unsigned()) {
        err = {"GenericError", "query-ioas wants {\"client\": N, \"ioas\": N}"};
        return false;
    }
    std::shared_ptr<IommufdFile> f = ctx.iommufd ? ctx.iommufd->find(args["client"]) : nullptr;
    if (!f) {
        err = {"DeviceNotFound", "no client " + args["client"].dump()};
        return false;
    }
    std::lock_guard lock(f->ctx.mutex());
    const model::Ioas* ioas = f->ctx.ioas(args["ioas"]);
    if (!ioas) {
        err = {"DeviceNotFound",
               "client " + args["client"].dump() + " has no IOAS " + args["ioas"].dump()};
        return false;
    }
    constexpr size_t kMaxAreas = 10000;
    json areas = json::array(), ranges = json::array();
    ioas->areas().for_each([&](const model::Area& a) {
        if (areas.size() < kMaxAreas)
            areas.push_back({{"iova", a.start},
                             {"length", a.length()},
                             {"user_va", a.user_va},
                             {"readable", (a.prot & model::kProtRead) != 0},
                             {"writable", (a.prot & model::kProtWrite) != 0}});
    });
    for (const model::IovaRange& r : ioas->usable_ranges())
        ranges.push_back({{"start", r.start}, {"last", r.last}});
    result = {{"areas", areas},
              {"truncated", areas.size() == kMaxAreas},
              {"iova_ranges", ranges},
              {"iova_alignment", ioas->iova_alignment()}};
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
                          // The legacy group API: /dev/vfio/N open, and
                          // whether it is set to a container or an iommufd.
                          {"group_open", g.group_file != 0},
                          {"container_set", g.container != nullptr || g.iommufd != nullptr},
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
            std::scoped_lock lock(ctx.topology.mutex, ctx.nodes_mutex);
            result = topology_json(ctx.topology.topo, ctx.nodes);
            return true;
        }
        if ((name == "trace-start" || name == "trace-stop") && ctx.set_trace) {
            ctx.set_trace(name == "trace-start");
            result = json::object();
            return true;
        }
        if (name == "device-add" && ctx.device_add) return ctx.device_add(args, result, err);
        if (name == "device-del" && ctx.device_del) return ctx.device_del(args, result, err);
        if (name == "query-clients") {
            result = json::array();
            if (ctx.iommufd)
                for (const auto& f : ctx.iommufd->files())
                    if (!f->is_group) result.push_back(client_json(ctx, *f));  // a group is none
            return true;
        }
        if (name == "query-ioas") return query_ioas(ctx, args, result, err);
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

}  // namespace ioasid::daemon
