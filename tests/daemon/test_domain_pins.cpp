// DomainPins against real processes: a child without CAP_IPC_LOCK under a
// 64 KiB RLIMIT_MEMLOCK, whose IOAS areas are charged to its user while the
// IOAS has a domain, per IOAS_MAP, as iommufd charges its pins.
#include <catch2/catch.hpp>

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "daemon/domain_pins.h"

using namespace ioasid;
using model::PinLedger;

namespace {

constexpr uint64_t P = 4096;
constexpr uint8_t kRW = model::kProtRead | model::kProtWrite;

// A child that has given up CAP_IPC_LOCK and lowered its RLIMIT_MEMLOCK,
// then waits to be killed.
class Unprivileged {
  public:
    explicit Unprivileged(uint64_t limit) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            rlimit l{limit, limit};
            __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
            __user_cap_data_struct d[2] = {};
            bool ok = ::setrlimit(RLIMIT_MEMLOCK, &l) == 0 && ::syscall(SYS_capget, &h, d) == 0;
            d[0].effective &= ~(1u << CAP_IPC_LOCK);
            d[0].permitted &= ~(1u << CAP_IPC_LOCK);
            ok = ok && ::syscall(SYS_capset, &h, d) == 0;
            char c = ok ? 1 : 0;
            (void)!::write(fds[1], &c, 1);
            ::pause();
            ::_exit(0);
        }
        ::close(fds[1]);
        char c = 0;
        REQUIRE(::read(fds[0], &c, 1) == 1);
        ::close(fds[0]);
        REQUIRE(c == 1);
    }
    ~Unprivileged() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    uint32_t pid() const { return static_cast<uint32_t>(pid_); }

  private:
    pid_t pid_ = -1;
};

struct Exited : model::SourceProcess {
    bool alive() const override { return false; }
};

int map(model::Ioas& io, uint64_t va, uint64_t len, uint32_t source, uint64_t iova) {
    return io.map(va, len, kRW, true, source, iova);
}

}  // namespace

TEST_CASE("domain pins charge the mapping process's user, per map, while a domain is on",
          "[daemon]") {
    Unprivileged child(16 * P);
    auto ledger = std::make_shared<PinLedger>();
    const auto user = PinLedger::user(static_cast<uint32_t>(::getuid()));
    model::Context ctx;
    const uint32_t src = ctx.add_source(child.pid(), nullptr);
    {
        model::Ioas io;
        io.set_domain_pins(std::make_unique<DomainPins>(ctx, ledger));
        REQUIRE(io.set_huge_pages(false) == 0);  // so that areas can be cut below
        REQUIRE(map(io, 0x10000000, 8 * P, src, 0x100000) == 0);
        CHECK(ledger->pinned(user) == 0);  // no domain, no pin
        REQUIRE(io.add_domain(model::domain_key(1), {}) == 0);
        CHECK(ledger->pinned(user) == 8);
        REQUIRE(map(io, 0x20000000, 8 * P, src, 0x200000) == 0);
        CHECK(ledger->pinned(user) == 16);
        CHECK(map(io, 0x30000000, P, src, 0x300000) == -ENOMEM);
        CHECK(io.areas().first_intersecting(0x300000, 0x300000) == nullptr);
        // The same memory mapped again is charged again; a copy is not.
        CHECK(map(io, 0x10000000, 8 * P, src, 0x400000) == -ENOMEM);
        std::vector<model::Segment> segs;
        REQUIRE(io.get_segments(0x100000, 8 * P, segs) == 0);
        uint64_t iova = 0x500000, unmapped;
        REQUIRE(io.map_segments(segs, 8 * P, kRW, true, iova) == 0);
        CHECK(ledger->pinned(user) == 16);
        REQUIRE(io.unmap(0x500000, 8 * P, unmapped) == 0);
        // A cut keeps the pins; each half then goes with its own pages.
        REQUIRE(io.cut(0x100000 + 4 * P - 1) == 0);
        CHECK(ledger->pinned(user) == 16);
        REQUIRE(io.unmap(0x100000, 4 * P, unmapped) == 0);
        CHECK(ledger->pinned(user) == 12);
        io.remove_domain(model::domain_key(1));
        CHECK(ledger->pinned(user) == 0);
        REQUIRE(io.add_domain(model::domain_key(2), {}) == 0);  // pinned again
        CHECK(ledger->pinned(user) == 12);
        CHECK(ledger->charged(&ctx) == 12);
    }
    // The IOAS went with its domain on: its pins went with it.
    CHECK(ledger->pinned(user) == 0);
}

TEST_CASE("domain pins: a process that has exited is EFAULT, CAP_IPC_LOCK is free", "[daemon]") {
    auto ledger = std::make_shared<PinLedger>();
    model::Context ctx;
    model::Ioas io;
    io.set_domain_pins(std::make_unique<DomainPins>(ctx, ledger));
    REQUIRE(io.add_domain(model::domain_key(1), {}) == 0);
    const uint32_t gone = ctx.add_source(12345, std::make_shared<Exited>());
    CHECK(map(io, 0x10000000, P, gone, 0x100000) == -EFAULT);
    if (::geteuid() != 0) return;  // only root has CAP_IPC_LOCK to spare
    const uint32_t self = ctx.add_source(static_cast<uint32_t>(::getpid()), nullptr);
    REQUIRE(map(io, 0x10000000, 1ull << 30, self, 0x100000) == 0);
    CHECK(ledger->charged(&ctx) == 0);
}
