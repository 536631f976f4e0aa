// DomainPins against real processes: a child without CAP_IPC_LOCK under a
// 64 KiB RLIMIT_MEMLOCK, whose IOAS areas are charged to its user while the
// IOAS has a domain, per IOAS_MAP, as iommufd charges its pins.
#include <catch2/catch.hpp>

#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "daemon/domain_pins.h"

using namespace ioasid;
using namespace ioasid::daemon;
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

// Memory the child has (it is made before the fork), and memory it has not.
struct Memory {
    uint64_t mapped = 0, gone = 0;
    Memory() {
        void* m =
            ::mmap(nullptr, 32 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        void* g =
            ::mmap(nullptr, 8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(m != MAP_FAILED);
        REQUIRE(g != MAP_FAILED);
        ::munmap(g, 8 * P);
        mapped = reinterpret_cast<uint64_t>(m);
        gone = reinterpret_cast<uint64_t>(g);
    }
    ~Memory() { ::munmap(reinterpret_cast<void*>(mapped), 32 * P); }
};

TEST_CASE("domain pins charge the mapping process's user, per map, while a domain is on",
          "[daemon]") {
    Memory mem;
    Unprivileged child(16 * P);
    auto ledger = std::make_shared<PinLedger>();
    const auto user = PinLedger::user(static_cast<uint32_t>(::getuid()));
    model::Context ctx;
    const uint32_t src = ctx.add_source(child.pid(), nullptr);
    const uint64_t a = mem.mapped, b = mem.mapped + 8 * P, c = mem.mapped + 16 * P;
    {
        model::Ioas io;
        io.set_domain_pins(std::make_unique<DomainPins>(ctx, ledger));
        REQUIRE(io.set_huge_pages(false) == 0);  // so that areas can be cut below
        REQUIRE(map(io, a, 8 * P, src, 0x100000) == 0);
        CHECK(ledger->pinned(user) == 0);  // no domain, no pin
        REQUIRE(io.add_domain(model::domain_key(1), {}) == 0);
        CHECK(ledger->pinned(user) == 8);
        REQUIRE(map(io, b, 8 * P, src, 0x200000) == 0);
        CHECK(ledger->pinned(user) == 16);
        CHECK(map(io, c, P, src, 0x300000) == -ENOMEM);
        CHECK(io.areas().first_intersecting(0x300000, 0x300000) == nullptr);
        // Memory the process does not map fails as the kernel's pin does
        // (EFAULT), though its charge would be refused too.
        CHECK(map(io, mem.gone, P, src, 0x300000) == -EFAULT);
        // The same memory mapped again is charged again; a copy is not.
        CHECK(map(io, a, 8 * P, src, 0x400000) == -ENOMEM);
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
    // iopt_fill_domain(): the first domain cannot pin memory the process
    // has unmapped since its IOAS_MAP, and does not join.
    model::Ioas io;
    io.set_domain_pins(std::make_unique<DomainPins>(ctx, ledger));
    REQUIRE(map(io, a, 4 * P, src, 0x100000) == 0);
    REQUIRE(map(io, mem.gone, 4 * P, src, 0x200000) == 0);
    CHECK(io.add_domain(model::domain_key(3), {}) == -EFAULT);
    CHECK(io.domains() == 0);
    CHECK(ledger->pinned(user) == 0);  // what the first area had charged is back
    uint64_t unmapped;
    REQUIRE(io.unmap(0x200000, 4 * P, unmapped) == 0);
    REQUIRE(io.add_domain(model::domain_key(3), {}) == 0);
    CHECK(ledger->pinned(user) == 4);
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
