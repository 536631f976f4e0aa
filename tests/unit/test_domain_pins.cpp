// An IOAS's domain pins (Ioas::set_domain_pins): on with its first domain,
// off with its last, following every area between; the daemon's DomainPins
// charges RLIMIT_MEMLOCK through it.
#include <catch2/catch.hpp>
#include <cerrno>
#include <map>
#include <memory>

#include "model/context.h"
#include "model/ioas.h"

using namespace ioasid::model;

namespace {

constexpr uint8_t kRW = kProtRead | kProtWrite;

// What the pins hold (start -> length), and a way to refuse.
struct FakePins : AreaMirror {
    std::map<uint64_t, uint64_t>* held;
    uint64_t refuse_at = ~0ull;
    explicit FakePins(std::map<uint64_t, uint64_t>* h) : held(h) {}
    int map(const Area& a) override {
        if (a.start == refuse_at) return -ENOMEM;
        return held->emplace(a.start, a.length()).second ? 0 : -EEXIST;
    }
    void unmap(const Area& a) override { held->erase(a.start); }
    bool splits() const override { return true; }
    void split(const Area& whole, const Area& lhs, const Area& rhs) override {
        held->erase(whole.start);
        held->emplace(lhs.start, lhs.length());
        held->emplace(rhs.start, rhs.length());
    }
};

struct Container : AreaMirror {
    int map(const Area&) override { return 0; }
    void unmap(const Area&) override {}
};

using Held = std::map<uint64_t, uint64_t>;

int map_at(Ioas& io, uint64_t iova, uint64_t len) {
    return io.map(0x7f0000000000 + iova, len, kRW, true, 1, iova);
}

}  // namespace

TEST_CASE("domain pins come with the first domain and go with the last", "[model][ioas]") {
    Held held;
    Ioas io;
    io.set_domain_pins(std::make_unique<FakePins>(&held));
    REQUIRE(map_at(io, 0x10000, 0x2000) == 0);
    CHECK(held.empty());  // no domain: the kernel pins nothing
    REQUIRE(io.add_domain(domain_key(1), {}) == 0);
    CHECK(held == Held{{0x10000, 0x2000}});
    REQUIRE(io.add_domain(domain_key(2), {}) == 0);  // pinned once for both
    REQUIRE(map_at(io, 0x20000, 0x1000) == 0);
    CHECK(held == Held{{0x10000, 0x2000}, {0x20000, 0x1000}});
    CHECK(io.mirrors() == 0);  // the pins are no container
    uint64_t unmapped;
    REQUIRE(io.unmap(0x20000, 0x1000, unmapped) == 0);
    CHECK(held.size() == 1);
    io.remove_domain(domain_key(1));
    CHECK(held.size() == 1);
    io.remove_domain(domain_key(2));
    CHECK(held.empty());
    REQUIRE(map_at(io, 0x30000, 0x1000) == 0);
    CHECK(held.empty());
}

TEST_CASE("pins that refuse keep the domain out, or the new area", "[model][ioas]") {
    Held held;
    Ioas io;
    auto pins = std::make_unique<FakePins>(&held);
    FakePins& p = *pins;
    io.set_domain_pins(std::move(pins));
    REQUIRE(map_at(io, 0x10000, 0x1000) == 0);
    REQUIRE(map_at(io, 0x20000, 0x1000) == 0);
    p.refuse_at = 0x20000;
    // iopt_table_add_domain() fails as filling it does: nothing stays.
    CHECK(io.add_domain(domain_key(1), {0x1000, 0, 0xffffffff}) == -ENOMEM);
    CHECK(io.domains() == 0);
    CHECK(held.empty());
    CHECK(io.usable_ranges().back().last == ~0ull);  // the aperture's reservation went too
    p.refuse_at = ~0ull;
    REQUIRE(io.add_domain(domain_key(1), {}) == 0);
    p.refuse_at = 0x30000;
    CHECK(map_at(io, 0x30000, 0x1000) == -ENOMEM);
    CHECK(io.areas().first_intersecting(0x30000, 0x30000) == nullptr);
    CHECK(held.size() == 2);
}

TEST_CASE("a cut splits the pins with the area, never a container's mapping", "[model][ioas]") {
    Held held;
    Ioas io;
    io.set_domain_pins(std::make_unique<FakePins>(&held));
    REQUIRE(io.set_huge_pages(false) == 0);  // what lets a domain's area be cut
    REQUIRE(io.add_domain(domain_key(1), {}) == 0);
    REQUIRE(map_at(io, 0x10000, 0x4000) == 0);
    REQUIRE(io.cut(0x11fff) == 0);
    CHECK(held == Held{{0x10000, 0x2000}, {0x12000, 0x2000}});
    Container c;
    REQUIRE(io.add_mirror(group_key(3), c) == 0);
    CHECK(io.mirrors() == 1);
    CHECK(io.cut(0x10fff) == -EINVAL);
    CHECK(held.size() == 2);
}

TEST_CASE("each IOAS of a context has pins of its own", "[model][ioas]") {
    Held a, b;
    Held* next = &a;
    Context ctx;
    const Context* seen = nullptr;
    ctx.set_domain_pins([&](const Context& c) {
        seen = &c;
        Held* h = next;
        next = &b;
        return std::make_unique<FakePins>(h);
    });
    const uint32_t first = ctx.alloc_ioas(), second = ctx.alloc_ioas();
    CHECK(seen == &ctx);
    REQUIRE(ctx.ioas(first)->add_domain(domain_key(1), {}) == 0);
    REQUIRE(ctx.ioas(second)->add_domain(domain_key(2), {}) == 0);
    REQUIRE(map_at(*ctx.ioas(first), 0x10000, 0x1000) == 0);
    REQUIRE(map_at(*ctx.ioas(second), 0x10000, 0x3000) == 0);
    CHECK(a == Held{{0x10000, 0x1000}});
    CHECK(b == Held{{0x10000, 0x3000}});
}
