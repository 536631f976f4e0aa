// ioasidctl: the control socket's client (daemon/control.h has the protocol).
//
// Exit codes: 0 success, 1 the daemon answered with an error, 2 usage,
// 3 the daemon cannot be reached.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

using nlohmann::json;

namespace {

constexpr int kDaemonError = 1, kUnreachable = 3;

class Connection {
  public:
    explicit Connection(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        if (fd_ < 0 || path.size() >= sizeof(a.sun_path)) return;
        std::strcpy(a.sun_path, path.c_str());
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0)
            ok_ = !line().is_null();
    }
    ~Connection() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return ok_; }
    // The next JSON line, or null at the end.
    json line() {
        size_t nl;
        while ((nl = buf_.find('\n')) == std::string::npos) {
            char b[65536];
            ssize_t n = ::read(fd_, b, sizeof(b));
            if (n <= 0) return json();
            buf_.append(b, static_cast<size_t>(n));
        }
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return json::parse(l, nullptr, false);
    }
    // The reply to a command; events that come first go to `on_event`.
    json call(const std::string& name, const json& args = json::object(),
              const std::function<void(const json&)>& on_event = nullptr) {
        const std::string req = json{{"execute", name}, {"arguments", args}}.dump() + "\n";
        if (::write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return json();
        for (json r = line();; r = line()) {
            if (r.is_null() || !r.contains("event")) return r;
            if (on_event) on_event(r);
        }
    }

  private:
    int fd_ = -1;
    bool ok_ = false;
    std::string buf_;
};

void print_topology(const json& t) {
    for (const json& g : t["groups"]) {
        std::printf("group %-5u %-10s%s\n", g["id"].get<unsigned>(),
                    g["viable"].get<bool>() ? "viable" : "NOT VIABLE",
                    g["owned"].get<bool>() ? "  owned by a client" : "");
        const size_t n = g["devices"].size();
        for (size_t i = 0; i < n; ++i) {
            const json& d = g["devices"][i];
            const std::string what = d["emulated"].get<bool>()
                                         ? "emulated " + d["model"].get<std::string>()
                                         : "driver " + (d["driver"].get<std::string>().empty()
                                                            ? std::string("(none)")
                                                            : d["driver"].get<std::string>());
            std::printf("  %s %-14s %s:%s  %-24s %s\n", i + 1 == n ? "`-" : "|-",
                        d["address"].get<std::string>().c_str(),
                        d["vendor"].get<std::string>().c_str(),
                        d["device"].get<std::string>().c_str(), what.c_str(),
                        d["node"].is_null() ? "" : d["node"].get<std::string>().c_str());
        }
    }
}

void print_clients(const json& clients) {
    std::printf("%-7s %-8s %-6s %-12s %-12s %-8s %s\n", "client", "pid", "uid", "ioas",
                "memlock-kib", "per", "devices");
    for (const json& c : clients) {
        std::string ioas, devices;
        for (const json& i : c["ioas"]) ioas += (ioas.empty() ? "" : ",") + i.dump();
        for (const json& d : c["devices"])
            devices += (devices.empty() ? "" : " ") + d["address"].get<std::string>() + "#" +
                       d["dev_id"].dump() + (d["hwpt"] == 0 ? "" : "->hwpt" + d["hwpt"].dump());
        std::printf("%-7s %-8s %-6s %-12s %-12s %-8s %s\n", c["client"].dump().c_str(),
                    c["pid"].dump().c_str(), c["uid"].dump().c_str(),
                    ioas.empty() ? "-" : ioas.c_str(),
                    c.value("memlock_kib", json(0)).dump().c_str(),
                    c.value("memlock_per", std::string("user")).c_str(),
                    devices.empty() ? "-" : devices.c_str());
    }
}

void print_ioas(const json& r) {
    std::printf("%-18s %-12s %-18s %s\n", "iova", "length", "user_va", "prot");
    for (const json& a : r["areas"])
        std::printf("0x%-16llx 0x%-10llx 0x%-16llx %s%s\n", a["iova"].get<unsigned long long>(),
                    a["length"].get<unsigned long long>(), a["user_va"].get<unsigned long long>(),
                    a["readable"].get<bool>() ? "r" : "-", a["writable"].get<bool>() ? "w" : "-");
    for (const json& g : r["iova_ranges"])
        std::printf("usable [0x%llx, 0x%llx]\n", g["start"].get<unsigned long long>(),
                    g["last"].get<unsigned long long>());
}

void print_stats(const json& s) {
    std::printf("%-20s %10s %8s %12s %10s %10s %10s\n", "command", "calls", "errors", "round trips",
                "mean us", "p50 us", "p99 us");
    for (const auto& [node, cmds] : s.items())
        for (const auto& [name, c] : cmds.items())
            std::printf("%-20s %10llu %8llu %12llu %10.1f %10.1f %10.1f\n", name.c_str(),
                        c.value("calls", 0ull), c.value("errors", 0ull),
                        c.value("round_trips", 0ull), c.value("mean_us", 0.0),
                        c.value("p50_us", 0.0), c.value("p99_us", 0.0));
}

// Prints a reply; the exit code.
int show(const json& reply, bool as_json, void (*human)(const json&)) {
    if (reply.is_null()) {
        std::fprintf(stderr, "ioasidctl: the daemon closed the connection\n");
        return kUnreachable;
    }
    if (reply.contains("error")) {
        std::fprintf(stderr, "ioasidctl: %s: %s\n", reply["error"].value("class", "Error").c_str(),
                     reply["error"].value("desc", "").c_str());
        return kDaemonError;
    }
    const json& ret = reply["return"];
    if (human && !as_json)
        human(ret);
    else if (as_json || !(ret.is_object() && ret.empty()))
        std::cout << ret.dump(2) << "\n";
    return 0;
}

volatile sig_atomic_t interrupted = 0;

// "a=1, b=0x2000": decoded fields as the trace event carries them.
std::string fields(const json& obj) {
    std::string s;
    if (!obj.is_object()) return s;
    for (const auto& [name, value] : obj.items()) {
        if (!s.empty()) s += ", ";
        s += name + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
    return s;
}

void print_ioctl(const json& ev, bool as_json) {
    if (as_json) {
        std::cout << ev.dump() << std::endl;
        return;
    }
    const json& d = ev["data"];
    std::string call =
        d["command"].get<std::string>() + "(" + fields(d.value("args", json())) + ")";
    std::string out = d.contains("out") ? " {" + fields(d["out"]) + "}" : "";
    // A refusal's errno, and the check that refused (the daemon's "why").
    std::string err = d.contains("errno") ? " " + d["errno"].get<std::string>() : "";
    if (d.contains("why")) err += " (" + d["why"].get<std::string>() + ")";
    std::printf("%-14s tid %-7s %-20s -> %s%s%s  %s, %s rt, %.1f us\n",
                d["node"].get<std::string>().c_str(), d["tid"].dump().c_str(), call.c_str(),
                d["result"].dump().c_str(), err.c_str(), out.c_str(),
                d["path"].get<std::string>().c_str(), d["round_trips"].dump().c_str(),
                d["duration_us"].get<double>());
    std::fflush(stdout);
}

// trace-start, then the IOCTL events one per line. Ctrl-C (or SIGTERM)
// sends trace-stop on the same connection and prints the events queued
// before its reply: none of the ioctls completed until then is lost.
int follow_trace(Connection& c, bool as_json) {
    struct sigaction sa {};
    sa.sa_handler = [](int) { interrupted = 1; };
    sigaction(SIGINT, &sa, nullptr);  // no SA_RESTART: read() returns
    sigaction(SIGTERM, &sa, nullptr);
    int rc = show(c.call("subscribe-events"), false, nullptr);
    if (!rc) rc = show(c.call("trace-start"), false, nullptr);
    if (rc) return rc;
    if (!as_json) std::cout << "# tracing ioasidd's ioctls" << std::endl;
    for (json ev = c.line(); !ev.is_null() && !interrupted; ev = c.line())
        if (ev.value("event", "") == "IOCTL") print_ioctl(ev, as_json);
    if (!interrupted) return kUnreachable;
    interrupted = 0;
    c.call("trace-stop", json::object(), [as_json](const json& ev) {
        if (ev.value("event", "") == "IOCTL") print_ioctl(ev, as_json);
    });
    return 0;
}

// device-add: the topology file's JSON, from FILE or standard input.
int add_devices(Connection& c, const std::string& path, bool as_json) {
    std::ifstream file(path);
    std::istream& in = path == "-" ? std::cin : file;
    json spec = json::parse(in, nullptr, false);
    if (spec.is_discarded()) {
        std::fprintf(stderr, "ioasidctl: %s is not JSON\n", path.c_str());
        return 2;
    }
    return show(c.call("device-add", spec), as_json, [](const json& added) {
        for (const json& d : added)
            std::printf("%s %s\n", d["device"].get<std::string>().c_str(),
                        d["node"].get<std::string>().c_str());
    });
}

// monitor: the daemon's events until it goes away.
int follow_events(Connection& c, bool as_json) {
    int rc = show(c.call("subscribe-events"), false, nullptr);
    if (rc) return rc;
    if (!as_json) std::cout << "# following ioasidd's events" << std::endl;
    for (json ev = c.line(); !ev.is_null(); ev = c.line()) {
        if (as_json)
            std::cout << ev.dump() << std::endl;
        else
            std::cout << ev["event"].get<std::string>() << " " << ev["data"].dump() << std::endl;
    }
    return kUnreachable;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ioasidctl: asks ioasidd through its control socket"};
    std::string socket = "/run/ioasidd/control.sock", level;
    bool as_json = false;
    app.add_option("-s,--socket", socket, "The control socket")->capture_default_str();
    app.add_flag("--json", as_json, "Print the daemon's JSON answer");
    app.require_subcommand(1);
    auto* version = app.add_subcommand("version", "ioasidd's version and ABI");
    auto* topology = app.add_subcommand("topology", "IOMMU groups, devices, drivers, nodes");
    auto* clients = app.add_subcommand("clients", "open /dev/ioasid contexts and what they hold");
    unsigned client = 0, ioas_id = 0;
    auto* ioas = app.add_subcommand("ioas", "the areas of one address space");
    ioas->add_option("client", client, "the client number (ioasidctl clients)")->required();
    ioas->add_option("ioas", ioas_id, "the IOAS id")->required();
    std::string device_file, address;
    auto* add = app.add_subcommand("device-add", "add emulated devices (a topology file's JSON)");
    add->add_option("file", device_file, "the JSON file ('-' for standard input)")->required();
    auto* del = app.add_subcommand("device-del", "remove an emulated device from its clients");
    del->add_option("address", address, "its PCI address")->required();
    auto* stats = app.add_subcommand("stats", "per-command counts, errors and latency");
    auto* log_level = app.add_subcommand("log-level", "change the daemon's log level");
    log_level->add_option("level", level, "error, warning, info or debug")->required();
    auto* monitor = app.add_subcommand("monitor", "print the daemon's events as they come");
    auto* trace = app.add_subcommand("trace", "print every ioctl the daemon serves, until Ctrl-C");
    auto* quit = app.add_subcommand("quit", "stop the daemon");
    CLI11_PARSE(app, argc, argv);

    Connection c(socket);
    if (!c.ok()) {
        std::fprintf(stderr, "ioasidctl: cannot reach ioasidd at %s: %s\n", socket.c_str(),
                     std::strerror(errno));
        return kUnreachable;
    }
    if (*version) return show(c.call("query-version"), as_json, nullptr);
    if (*topology) return show(c.call("query-topology"), as_json, print_topology);
    if (*stats) return show(c.call("query-stats"), as_json, print_stats);
    if (*add) return add_devices(c, device_file, as_json);
    if (*del)
        return show(c.call("device-del", {{"address", address}}), as_json, [](const json& r) {
            std::printf("removed %s (%s)\n", r["device"].get<std::string>().c_str(),
                        r["node"].get<std::string>().c_str());
        });
    if (*clients) return show(c.call("query-clients"), as_json, print_clients);
    if (*ioas)
        return show(c.call("query-ioas", {{"client", client}, {"ioas", ioas_id}}), as_json,
                    print_ioas);
    if (*log_level) return show(c.call("set-log-level", {{"level", level}}), as_json, nullptr);
    if (*quit) return show(c.call("quit"), as_json, nullptr);
    if (*trace) return follow_trace(c, as_json);
    if (*monitor) return follow_events(c, as_json);
    return 2;
}
