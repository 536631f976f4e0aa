// The control socket over a real Unix socket: greeting, commands, errors
// that leave the connection usable, events, and a client that never reads.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "daemon/control.h"
#include "daemon/control_commands.h"
#include "daemon/log.h"
#include "unit/temp_dir.h"

using namespace ioasid;
using namespace ioasid::daemon;
using nlohmann::json;

namespace {

struct Conn {
    int fd = -1;
    std::string buf;
    explicit Conn(const std::string& path) {
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, path.c_str());
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    ~Conn() { ::close(fd); }
    void raw(const std::string& s) {
        REQUIRE(::write(fd, s.data(), s.size()) == ssize_t(s.size()));
    }
    json line() {
        size_t nl;
        while ((nl = buf.find('\n')) == std::string::npos) {
            char b[4096];
            ssize_t n = ::read(fd, b, sizeof(b));
            if (n <= 0) return json();
            buf.append(b, static_cast<size_t>(n));
        }
        std::string l = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return json::parse(l);
    }
    json call(const json& req) {
        raw(req.dump() + "\n");
        return line();
    }
};

struct Fixture {
    test::TempDir dir{"control"};
    model::SharedTopology topo;
    int quits = 0;
    ControlContext ctx{topo,
                       nullptr,
                       {{"fffe:00:00.0", "vfio/device0"}},
                       "ioasid",
                       [] {
                           return json{{"IOAS_MAP", {{"calls", 3}}}};
                       },
                       [this] { ++quits; }};
    ControlServer server{(dir.root / "control.sock").string(), 0600, getgid(), "9.9",
                         control_commands(ctx)};
    Fixture() {
        model::PciDevice d;
        d.address = "fffe:00:00.0";
        d.model = "edu";
        d.group = 1000;
        topo.topo.add_device(d);
        REQUIRE(server.start() == 0);
    }
    std::string path() const { return (dir.root / "control.sock").string(); }
};

}  // namespace

TEST_CASE("control: greeting, commands, ids, and mode 0600", "[control]") {
    Fixture f;
    struct stat st;
    REQUIRE(::stat(f.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    Conn c(f.path());
    json hello = c.line();
    CHECK(hello["ioasidd"]["version"] == "9.9");
    json v = c.call({{"execute", "query-version"}, {"id", 7}});
    CHECK(v["id"] == 7);
    CHECK(v["return"]["iommufd_node"] == "/dev/ioasid");
    json t = c.call({{"execute", "query-topology"}});
    REQUIRE(t["return"]["groups"].size() == 1);
    CHECK(t["return"]["groups"][0]["viable"] == true);
    CHECK(t["return"]["groups"][0]["devices"][0]["node"] == "/dev/vfio/device0");
    CHECK(t["return"]["groups"][0]["devices"][0]["vendor"] == "0000");  // ids from the model
    CHECK(c.call({{"execute", "query-stats"}})["return"]["IOAS_MAP"]["calls"] == 3);
    CHECK(c.call({{"execute", "quit"}})["return"] == json::object());
    CHECK(f.quits == 1);
}

TEST_CASE("control: bad input gets an error and the connection stays usable", "[control]") {
    Fixture f;
    Conn c(f.path());
    c.line();
    c.raw("{not json\n");
    CHECK(c.line()["error"]["class"] == "GenericError");
    c.raw("[1,2]\n");
    CHECK(c.line()["error"]["desc"] == "expected {\"execute\": NAME, ...}");
    json unknown = c.call({{"execute", "frobnicate"}, {"id", "x"}});
    CHECK(unknown["error"]["class"] == "CommandNotFound");
    CHECK(unknown["id"] == "x");
    CHECK(c.call({{"execute", "set-log-level"}, {"arguments", {{"level", 3}}}})["error"]["class"] ==
          "GenericError");
    CHECK(c.call({{"execute", "set-log-level"}, {"arguments", "debug"}})["error"]["class"] ==
          "GenericError");
    CHECK(c.call({{"execute", "set-log-level"},
                  {"arguments", {{"level", "loud"}}}})["error"]["desc"] ==
          "unknown log level 'loud'");
    REQUIRE(c.call({{"execute", "set-log-level"}, {"arguments", {{"level", "debug"}}}})
                .contains("return"));
    CHECK(log::level() == log::Level::Debug);
    log::set_level(log::Level::Warning);
    // A line over the limit: one error, then the next request is served.
    c.raw(std::string(ControlServer::kMaxLine + 100, 'x'));
    CHECK(c.line()["error"]["desc"].get<std::string>().find("longer than") != std::string::npos);
    c.raw("\n");
    CHECK(c.call({{"execute", "query-version"}}).contains("return"));
}

TEST_CASE("control: events reach subscribers only; a client that never reads is dropped",
          "[control]") {
    Fixture f;
    Conn sub(f.path()), other(f.path());
    sub.line();
    other.line();
    REQUIRE(sub.call({{"execute", "subscribe-events"}}).contains("return"));
    f.server.emit("GROUP_VIABILITY_CHANGED", {{"group", 7}, {"viable", false}});
    json ev = sub.line();
    CHECK(ev["event"] == "GROUP_VIABILITY_CHANGED");
    CHECK(ev["data"]["group"] == 7);
    CHECK(ev["timestamp"].contains("seconds"));
    CHECK(other.call({{"execute", "query-version"}}).contains("return"));  // no event for it

    // A subscriber that stops reading: the daemon goes on serving others.
    Conn lazy(f.path());
    lazy.line();
    REQUIRE(lazy.call({{"execute", "subscribe-events"}}).contains("return"));
    const int small = 4096;
    ::setsockopt(lazy.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    const std::string big(4000, 'y');
    for (int i = 0; i < 600; ++i) f.server.emit("DMA_FAULT", {{"pad", big}});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(other.call({{"execute", "query-version"}}).contains("return"));
    // The lazy client was cut off: reading drains what was sent, then EOF.
    char b[65536];
    ssize_t n, total = 0;
    while ((n = ::read(lazy.fd, b, sizeof(b))) > 0) total += n;
    CHECK(n == 0);
    CHECK(total < 600 * 4000);
}

// ---- clients and their address spaces ----
#include <linux/capability.h>

#include "daemon/iommufd_handler.h"
#include "ioasid/iommufd.h"
#include "unit/fake_memory.h"

TEST_CASE("control: query-clients and query-ioas show what /dev/ioasid's clients hold",
          "[control]") {
    Fixture f;
    IommufdHandler node(&f.topo);
    f.ctx.iommufd = &node;
    // Pages charged for its pins (forwarded devices'), 4 KiB each.
    f.ctx.charged_pages = [](const model::Context&) { return uint64_t{3}; };
    // A caller per request, as the transport makes one (the node wraps its
    // tgid lookup for the duration of one call).
    auto caller = [] {
        dispatch::Caller c;
        c.uid = 1000;
        c.tgid = [] { return 4242u; };
        return c;
    };
    uint64_t fh = 0;
    REQUIRE(node.open(caller(), fh) == 0);
    test::FakeMemory mem;
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    uint64_t at = mem.put(alloc);
    dispatch::Caller c1 = caller();
    REQUIRE(node.ioctl(fh, IOMMU_IOAS_ALLOC, at, mem, c1) == 0);
    const uint32_t ioas = mem.get<iommu_ioas_alloc>(at).out_ioas_id;
    iommu_ioas_map map{sizeof(map), 7, ioas, 0, 0x7f0000000000, 0x2000, 0x100000};
    dispatch::Caller c2 = caller();
    REQUIRE(node.ioctl(fh, IOMMU_IOAS_MAP, mem.put(map), mem, c2) == 0);

    Conn c(f.path());
    c.line();
    json clients = c.call({{"execute", "query-clients"}})["return"];
    REQUIRE(clients.size() == 1);
    CHECK(clients[0]["pid"] == 4242);
    CHECK(clients[0]["uid"] == 1000);
    CHECK(clients[0]["ioas"] == json::array({ioas}));
    CHECK(clients[0]["memlock_kib"] == 12);
    CHECK(clients[0]["memlock_per"] == "user");
    const unsigned id = clients[0]["client"];
    json r = c.call({{"execute", "query-ioas"}, {"arguments", {{"client", id}, {"ioas", ioas}}}});
    REQUIRE(r["return"]["areas"].size() == 1);
    CHECK(r["return"]["areas"][0]["iova"] == 0x100000);
    CHECK(r["return"]["areas"][0]["writable"] == true);
    CHECK(c.call({{"execute", "query-ioas"},
                  {"arguments", {{"client", id}, {"ioas", 99}}}})["error"]["class"] ==
          "DeviceNotFound");
    CHECK(c.call({{"execute", "query-ioas"}, {"arguments", {{"client", "x"}}}})["error"]["class"] ==
          "GenericError");
    // Another context, per process from its start (RLIMIT_MODE 1 needs
    // CAP_SYS_RESOURCE, and no object yet).
    uint64_t fh2 = 0;
    REQUIRE(node.open(caller(), fh2) == 0);
    iommu_option opt{sizeof(opt), IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, 0, 1};
    dispatch::Caller admin = caller();
    admin.capable = [](int cap) { return cap == CAP_SYS_RESOURCE; };
    REQUIRE(node.ioctl(fh2, IOMMU_OPTION, mem.put(opt), mem, admin) == 0);
    clients = c.call({{"execute", "query-clients"}})["return"];
    REQUIRE(clients.size() == 2);
    CHECK(clients[0]["memlock_per"] != clients[1]["memlock_per"]);
    CHECK((clients[0]["memlock_per"] == "process" || clients[1]["memlock_per"] == "process"));
    node.release(fh2);
    node.release(fh);
    CHECK(c.call({{"execute", "query-clients"}})["return"].empty());
}

// ---- tracing ----
#include "daemon/trace.h"

TEST_CASE("control: IOCTL events carry the decoded arguments and outputs", "[control]") {
    Fixture f;
    Trace trace(&f.server);
    Conn sub(f.path());
    sub.line();
    REQUIRE(sub.call({{"execute", "subscribe-events"}}).contains("return"));
    iommu_ioas_map before{sizeof(before), IOMMU_IOAS_MAP_READABLE, 2, 0, 0x7f00, 0x2000, 0};
    iommu_ioas_map after = before;
    after.iova = 0x100000;
    auto as_bytes = [](const iommu_ioas_map& m) {
        auto* p = reinterpret_cast<const uint8_t*>(&m);
        return std::vector<uint8_t>(p, p + sizeof(m));
    };
    cuse::IoctlRecord rec{
        IOMMU_IOAS_MAP, 0, 1, true, std::chrono::microseconds(42), 77, 0x1000, as_bytes(before),
        as_bytes(after)};
    trace.record("ioasid", dispatch::NodeKind::Iommufd, "IOAS_MAP", rec);  // off: nothing is sent
    trace.set(true);
    trace.record("ioasid", dispatch::NodeKind::Iommufd, "IOAS_MAP", rec);
    rec.result = -EEXIST;
    trace.record("ioasid", dispatch::NodeKind::Iommufd, "IOAS_MAP", rec);
    trace.record("ioasid", dispatch::NodeKind::Iommufd, "IOAS_MAP", rec, "the check that refused");

    json ev = sub.line();
    REQUIRE(ev["event"] == "IOCTL");
    const json& d = ev["data"];
    CHECK(d["command"] == "IOAS_MAP");
    CHECK(d["tid"] == 77);
    CHECK(d["args"] == json{{"flags", "0x4"},
                            {"ioas_id", 2},
                            {"user_va", "0x7f00"},
                            {"length", "0x2000"},
                            {"iova", "0x0"}});
    CHECK(d["out"] == json{{"iova", "0x100000"}});
    CHECK(d["result"] == 0);
    CHECK_FALSE(d.contains("errno"));
    ev = sub.line();
    CHECK(ev["data"]["errno"] == "EEXIST");
    CHECK(ev["data"]["args"]["ioas_id"] == 2);
    CHECK_FALSE(ev["data"].contains("out"));
    CHECK_FALSE(ev["data"].contains("why"));
    ev = sub.line();  // a refusal's reason (model/refusal.h)
    CHECK(ev["data"]["why"] == "the check that refused");
}
