// The VMM channel over a real Unix socket, with the preload library's own
// end (channel_ask): files both ways, the sender's pid, and every malformed
// message answered without reaching the handler.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "channel.h"
#include "daemon/vmm_channel.h"
#include "host/unix_socket.h"
#include "unit/temp_dir.h"

using namespace ioasid;
using namespace ioasid::daemon;

namespace {

// A file whose contents say which it is.
host::UniqueFd memfd_with(const std::string& text) {
    host::UniqueFd fd(::memfd_create("vmm-channel-test", MFD_CLOEXEC));
    REQUIRE(fd);
    REQUIRE(::write(fd.get(), text.data(), text.size()) == ssize_t(text.size()));
    return fd;
}

std::string contents(int fd) {
    char buf[64] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

ino_t inode(int fd) {
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_ino;
}

struct Fixture {
    test::TempDir dir{"vmm-channel"};
    std::string path = (dir.root / "vmm.sock").string();
    std::mutex mutex;
    std::vector<ino_t> files;  // what the handler was sent
    std::vector<pid_t> peers;
    std::vector<ioasidd_channel_request> requests;
    int answer = 0;
    VmmChannel channel{path, [this](int file, pid_t peer, const ioasidd_channel_request& req,
                                    ioasidd_channel_reply& reply, host::UniqueFd& out) {
                           std::lock_guard lock(mutex);
                           files.push_back(inode(file));
                           peers.push_back(peer);
                           requests.push_back(req);
                           reply.offset = req.offset + 0x1000;
                           out = memfd_with("answer for " + contents(file));
                           return answer;
                       }};
    Fixture() {
        REQUIRE(channel.start() == 0);
        ::setenv("IOASIDD_VMM_SOCKET", path.c_str(), 1);
    }
    ~Fixture() { ::unsetenv("IOASIDD_VMM_SOCKET"); }
    size_t calls() {
        std::lock_guard lock(mutex);
        return files.size();
    }
};

ioasidd_channel_request mmap_request() {
    ioasidd_channel_request req{};
    req.size = sizeof(req);
    req.op = IOASIDD_CHANNEL_MMAP;
    req.offset = 0x70000000000ull;
    req.length = 4096;
    req.prot = PROT_READ | PROT_WRITE;
    req.flags = MAP_SHARED;
    return req;
}

// A connection of its own, for messages channel_ask would never send.
struct Raw {
    host::UniqueFd fd{::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
    explicit Raw(const std::string& path) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, path.c_str());
        REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
        timeval tv{5, 0};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    // The reply's result; `fds` counts the files that came with it.
    int reply(size_t& fds) {
        ioasidd_channel_reply r{};
        std::vector<host::UniqueFd> got;
        REQUIRE(host::receive_with_fds(fd.get(), &r, sizeof(r), got, 2) == ssize_t(sizeof(r)));
        CHECK(r.size == sizeof(r));
        fds = got.size();
        return r.result;
    }
};

}  // namespace

TEST_CASE("the VMM channel hands the handler the sender's file and pid, and the sender its answer",
          "[vmm-channel]") {
    Fixture f;
    host::UniqueFd device = memfd_with("device0");
    ioasidd_channel_reply reply{};
    host::UniqueFd got;
    REQUIRE(preload::channel_ask(device.get(), mmap_request(), reply, got) == 0);
    REQUIRE(got);
    CHECK(contents(got.get()) == "answer for device0");
    CHECK(reply.offset == 0x70000001000ull);
    CHECK((::fcntl(got.get(), F_GETFD) & FD_CLOEXEC) != 0);
    REQUIRE(f.calls() == 1);
    CHECK(f.files[0] == inode(device.get()));
    CHECK(f.peers[0] == ::getpid());
    CHECK(f.requests[0].op == IOASIDD_CHANNEL_MMAP);
    CHECK(f.requests[0].length == 4096);
    CHECK(f.requests[0].flags == MAP_SHARED);
}

TEST_CASE("a refusal reaches the sender as its errno, with no file", "[vmm-channel]") {
    Fixture f;
    f.answer = -EPERM;
    host::UniqueFd device = memfd_with("device0");
    ioasidd_channel_reply reply{};
    host::UniqueFd got;
    CHECK(preload::channel_ask(device.get(), mmap_request(), reply, got) == -EPERM);
    CHECK(!got);
}

TEST_CASE("malformed requests are answered without reaching the handler", "[vmm-channel]") {
    Fixture f;
    host::UniqueFd a = memfd_with("a"), b = memfd_with("b");
    ioasidd_channel_request req = mmap_request();
    size_t fds = 9;
    SECTION("no file") {
        Raw r(f.path);
        REQUIRE(host::send_with_fd(r.fd.get(), &req, sizeof(req), -1) == ssize_t(sizeof(req)));
        CHECK(r.reply(fds) == -EBADF);
    }
    SECTION("two files") {
        Raw r(f.path);
        int two[2] = {a.get(), b.get()};
        REQUIRE(host::send_with_fds(r.fd.get(), &req, sizeof(req), two, 2) == ssize_t(sizeof(req)));
        CHECK(r.reply(fds) == -EBADF);
    }
    SECTION("a short message") {
        Raw r(f.path);
        REQUIRE(host::send_with_fd(r.fd.get(), &req, 8, a.get()) == 8);
        CHECK(r.reply(fds) == -EOPNOTSUPP);
    }
    SECTION("a message longer than a request") {
        Raw r(f.path);
        char big[sizeof(req) + 16] = {};
        std::memcpy(big, &req, sizeof(req));
        REQUIRE(host::send_with_fd(r.fd.get(), big, sizeof(big), a.get()) == ssize_t(sizeof(big)));
        CHECK(r.reply(fds) == -EOPNOTSUPP);
    }
    SECTION("a request of another size") {
        Raw r(f.path);
        req.size = sizeof(req) + 8;
        REQUIRE(host::send_with_fd(r.fd.get(), &req, sizeof(req), a.get()) == ssize_t(sizeof(req)));
        CHECK(r.reply(fds) == -EOPNOTSUPP);
    }
    CHECK(fds == 0);
    CHECK(f.calls() == 0);
    // The channel still serves a good request after each.
    ioasidd_channel_reply reply{};
    host::UniqueFd got;
    CHECK(preload::channel_ask(a.get(), mmap_request(), reply, got) == 0);
    CHECK(f.calls() == 1);
}

TEST_CASE("a connection that never sends does not hold up the next one", "[vmm-channel]") {
    Fixture f;
    Raw idle(f.path);
    host::UniqueFd device = memfd_with("device0");
    ioasidd_channel_reply reply{};
    host::UniqueFd got;
    CHECK(preload::channel_ask(device.get(), mmap_request(), reply, got) == 0);
    // One connection serves several requests in turn.
    size_t fds = 0;
    ioasidd_channel_request req = mmap_request();
    for (int i = 0; i < 3; ++i) {
        REQUIRE(host::send_with_fd(idle.fd.get(), &req, sizeof(req), device.get()) ==
                ssize_t(sizeof(req)));
        CHECK(idle.reply(fds) == 0);
        CHECK(fds == 1);
    }
    CHECK(f.calls() == 4);
}

TEST_CASE(
    "a second channel on a live one's socket is refused; no channel is ECONNREFUSED or ENOENT",
    "[vmm-channel]") {
    test::TempDir dir("vmm-channel");
    const std::string path = (dir.root / "vmm.sock").string();
    auto handler = [](int, pid_t, const ioasidd_channel_request&, ioasidd_channel_reply&,
                      host::UniqueFd&) { return 0; };
    host::UniqueFd device = memfd_with("device0");
    ioasidd_channel_reply reply{};
    host::UniqueFd got;
    ::setenv("IOASIDD_VMM_SOCKET", path.c_str(), 1);
    CHECK(preload::channel_ask(device.get(), mmap_request(), reply, got) == -ENOENT);
    {
        VmmChannel first(path, handler), second(path, handler);
        REQUIRE(first.start() == 0);
        CHECK(second.start() == -EADDRINUSE);
        CHECK(preload::channel_ask(device.get(), mmap_request(), reply, got) == 0);
        CHECK(!got);  // the handler gave none
    }
    // Its stop removed the socket.
    CHECK(preload::channel_ask(device.get(), mmap_request(), reply, got) == -ENOENT);
    ::unsetenv("IOASIDD_VMM_SOCKET");
}
