#include <catch2/catch.hpp>
#include <cerrno>
#include <vector>

#include "model/ioas.h"

using namespace ioasid::model;

namespace {
constexpr uint8_t kRW = kProtRead | kProtWrite;
constexpr uint64_t kMax = ~uint64_t{0};

int map_fixed(Ioas& io, uint64_t iova, uint64_t len, uint64_t va = 0x10000, uint8_t prot = kRW) {
    return io.map(va, len, prot, true, 1, iova);
}
}  // namespace

TEST_CASE("fixed maps refuse overlaps and reserved IOVAs", "[model][ioas]") {
    Ioas io;
    CHECK(map_fixed(io, 0x10000, 0x2000) == 0);
    CHECK(map_fixed(io, 0x11000, 0x1000) == -EEXIST);
    CHECK(map_fixed(io, 0xf000, 0x1001) == -EEXIST);
    CHECK(map_fixed(io, 0x12000, 0x1000) == 0);
    REQUIRE(io.add_reserved(0x100000, 0x1fffff, 7) == 0);
    CHECK(map_fixed(io, 0x1ff000, 0x2000) == -EINVAL);
    CHECK(map_fixed(io, kMax - 0xfff, 0x2000) == -EOVERFLOW);
    CHECK(io.add_reserved(0x10000, 0x10000, 8) == -EADDRINUSE);
    CHECK(io.areas().size() == 2);
}

TEST_CASE("map checks length and user pointer like iopt_alloc_pages", "[model][ioas]") {
    Ioas io;
    uint64_t iova = 0;
    CHECK(io.map(0x1000, 0, kRW, false, 1, iova) == -EINVAL);
    CHECK(io.map(0x1000, kMax - 0xfff, kRW, false, 1, iova) == -EINVAL);
    CHECK(io.map(kMax - 0xfff, 0x2000, kRW, false, 1, iova) == -EOVERFLOW);
}

TEST_CASE("allocated IOVAs follow the kernel's first fit", "[model][ioas]") {
    Ioas io;
    uint64_t iova = 0;
    REQUIRE(io.map(0x7f0000001000, 0x1000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x1000);  // never IOVA 0
    REQUIRE(io.map(0x7f0000200000, 0x200000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x200000);  // huge-page alignment taken from the pointer
    REQUIRE(io.map(0x7f0000400010, 0x1000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x2010);  // keeps the pointer's offset in the page
    REQUIRE(io.map(0, 0x3000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x4000);  // no pointer: aligned to the rounded-up length
}

TEST_CASE("allocation stays inside allowed ranges and outside reserved ones", "[model][ioas]") {
    Ioas io;
    REQUIRE(io.set_allowed({{0x100000, 0x1fffff}, {0x400000, 0x4fffff}}) == 0);
    uint64_t iova = 0;
    REQUIRE(io.map(0x1000, 0x100000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x100000);
    REQUIRE(io.map(0x1000, 0x1000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x400000);
    CHECK(io.map(0x1000, 0x100000, kRW, false, 1, iova) == -ENOSPC);
    CHECK(io.add_reserved(0x480000, 0x48ffff, 1) == -EADDRINUSE);  // allowed there
    CHECK(io.set_allowed({}) == 0);
    REQUIRE(io.add_reserved(0x1000, 0xffff, 1) == 0);
    REQUIRE(io.map(0x1000, 0x1000, kRW, false, 1, iova) == 0);
    CHECK(iova == 0x10000);
    CHECK(io.set_allowed({{0x8000, 0x10fff}}) == -EADDRINUSE);
}

TEST_CASE("allowed ranges must be valid and disjoint", "[model][ioas]") {
    Ioas io;
    CHECK(io.set_allowed({{0x2000, 0x2000}}) == -EINVAL);
    CHECK(io.set_allowed({{0x3000, 0x2000}}) == -EINVAL);
    CHECK(io.set_allowed({{0x1000, 0x2fff}, {0x2000, 0x3fff}}) == -EINVAL);
    CHECK(io.set_allowed({{0x1000, 0x1fff}, {0x2000, 0x3fff}}) == 0);
    CHECK(io.allowed().size() == 2);
}

TEST_CASE("usable ranges are the holes between reserved ranges", "[model][ioas]") {
    Ioas io;
    auto r = io.usable_ranges();
    REQUIRE(r.size() == 1);
    CHECK(r[0].start == 0);
    CHECK(r[0].last == kMax);
    REQUIRE(io.add_reserved(0xfee00000, 0xfeefffff, 1) == 0);
    REQUIRE(io.add_reserved(0xfee80000, 0xfef0ffff, 2) == 0);  // overlapping owners
    r = io.usable_ranges();
    REQUIRE(r.size() == 2);
    CHECK(r[0].last == 0xfedfffff);
    CHECK(r[1].start == 0xfef10000);
    io.remove_reserved(2);
    CHECK(io.usable_ranges()[1].start == 0xfef00000);
}

TEST_CASE("unmap removes whole areas only", "[model][ioas]") {
    Ioas io;
    REQUIRE(map_fixed(io, 0x1000, 0x1000) == 0);
    REQUIRE(map_fixed(io, 0x2000, 0x2000) == 0);
    REQUIRE(map_fixed(io, 0x8000, 0x1000) == 0);
    uint64_t n = 0;
    CHECK(io.unmap(0x2000, 0x1000, n) == -ENOENT);
    CHECK(io.unmap(0x1000, 0, n) == -EINVAL);
    CHECK(io.unmap(kMax, 2, n) == -EOVERFLOW);
    // The first area goes, then the partial second one stops the walk.
    CHECK(io.unmap(0x1000, 0x2000, n) == -ENOENT);
    CHECK(io.areas().size() == 2);
    CHECK(io.unmap(0, 0x10000, n) == 0);
    CHECK(n == 0x3000);
    CHECK(io.unmap(0, 0x10000, n) == 0);
    CHECK(n == 0);
    REQUIRE(map_fixed(io, 0x1000, 0x1000) == 0);
    CHECK(io.unmap_all(n) == 0);
    CHECK(n == 0x1000);
    CHECK(io.areas().empty());
}

TEST_CASE("copy re-maps contiguous areas and keeps write permission honest", "[model][ioas]") {
    Ioas src, dst;
    REQUIRE(map_fixed(src, 0x10000, 0x2000, 0x7000000, kRW) == 0);
    REQUIRE(map_fixed(src, 0x12000, 0x1000, 0x9000000, kProtRead) == 0);
    std::vector<Segment> segs;
    REQUIRE(src.get_segments(0x11000, 0x2000, segs) == 0);
    REQUIRE(segs.size() == 2);
    CHECK(segs[0].user_va == 0x7001000);
    CHECK(segs[1].user_va == 0x9000000);
    CHECK_FALSE(segs[1].writable);
    uint64_t iova = 0x50000;
    CHECK(dst.map_segments(segs, 0x2000, kRW, true, iova) == -EPERM);
    CHECK(dst.areas().empty());
    REQUIRE(dst.map_segments(segs, 0x2000, kProtRead, true, iova) == 0);
    CHECK(dst.areas().size() == 2);
    CHECK(src.get_segments(0x13000, 0x1000, segs) == -ENOENT);
    CHECK(src.get_segments(0x12000, 0x2000, segs) == -ENOENT);
    CHECK(src.get_segments(0x12000, 0, segs) == -EINVAL);
}

TEST_CASE("each map has pages of its own, which copies and cuts keep", "[model][ioas]") {
    Ioas io;
    REQUIRE(map_fixed(io, 0x10000, 0x4000, 0x7f0000000000) == 0);
    REQUIRE(map_fixed(io, 0x20000, 0x4000, 0x7f0000000000) == 0);  // the same memory
    const uint64_t first = io.areas().first_intersecting(0x10000, 0x10000)->pages;
    const uint64_t second = io.areas().first_intersecting(0x20000, 0x20000)->pages;
    CHECK(first != 0);
    CHECK(second != first);
    std::vector<Segment> segs;
    REQUIRE(io.get_segments(0x11000, 0x2000, segs) == 0);
    uint64_t iova = 0x30000;
    REQUIRE(io.map_segments(segs, 0x2000, kRW, true, iova) == 0);
    CHECK(io.areas().first_intersecting(0x30000, 0x30000)->pages == first);
    Ioas other;  // a copy into another IOAS shares them too
    iova = 0x10000;
    REQUIRE(other.map_segments(segs, 0x2000, kRW, true, iova) == 0);
    CHECK(other.areas().first_intersecting(0x10000, 0x10000)->pages == first);
    REQUIRE(io.cut(0x11fff) == 0);
    CHECK(io.areas().first_intersecting(0x12000, 0x12000)->pages == first);
    CHECK(io.areas().first_intersecting(0x10000, 0x10000)->pages == first);
}

TEST_CASE("turning huge pages off raises the IOVA alignment to a page", "[model][ioas]") {
    Ioas io;
    CHECK(io.huge_pages());
    CHECK(io.iova_alignment() == 1);
    REQUIRE(map_fixed(io, 0x1800, 0x800) == 0);
    CHECK(io.set_huge_pages(false) == -EADDRINUSE);
    CHECK(io.huge_pages());
    uint64_t n;
    REQUIRE(io.unmap_all(n) == 0);
    REQUIRE(io.set_huge_pages(false) == 0);
    CHECK(io.iova_alignment() == 0x1000);
    CHECK(map_fixed(io, 0x1800, 0x1000) == -EINVAL);
    CHECK(map_fixed(io, 0x1000, 0x800) == -EINVAL);
    CHECK(io.set_huge_pages(true) == 0);
    CHECK(io.iova_alignment() == 1);
}

// ---- pages pinned for clients, per user ----
#include "model/pin_ledger.h"

TEST_CASE("pin ledger: a user's pages against the limit of the process that pins", "[model]") {
    constexpr uint64_t P = 4096;
    PinLedger ledger;
    int ctx;
    const auto u1000 = PinLedger::user(1000);
    const PinLedger::Owner a{&ctx, 1, u1000}, b{&ctx, 2, PinLedger::user(1001)};
    CHECK(ledger.pin(a, 0, 256 * P, 384) == 0);
    CHECK(ledger.pin(a, 256 * P, 129 * P, 384) == -ENOMEM);  // 385 > 384
    CHECK(ledger.pin(a, 256 * P, 128 * P, 384) == 0);        // exactly the limit
    CHECK(ledger.pinned(u1000) == 384);
    CHECK(ledger.pin(b, 0, 384 * P, 384) == 0);  // another user counts alone
    ledger.unpin(a, 0, 256 * P);
    CHECK(ledger.pinned(u1000) == 128);
    // The limit is the pinning process's: a lower one refuses even what the
    // user pins already, a higher one takes more.
    CHECK(ledger.pin(a, 1ull << 30, P, 64) == -ENOMEM);
    CHECK(ledger.pin(a, 1ull << 30, 1000 * P, 2000) == 0);
    ledger.unpin(a, 1ull << 30, 1000 * P);
    ledger.unpin(a, 256 * P, 128 * P);
    CHECK(ledger.pinned(u1000) == 0);
    ledger.unpin(a, 0, P);  // never below zero
    CHECK(ledger.pinned(u1000) == 0);
    const PinLedger::Owner c{&ctx, 3, PinLedger::user(1002)};
    CHECK(ledger.pin(c, 0, (1ull << 40) * P, UINT64_MAX) == 0);  // unlimited
}

TEST_CASE("pin ledger: a page pinned again for the same process counts once", "[model]") {
    constexpr uint64_t P = 4096;
    PinLedger ledger;
    int ctx1, ctx2;
    const auto u1000 = PinLedger::user(1000);
    const PinLedger::Owner a{&ctx1, 1, u1000};
    // Two containers mirroring one IOAS pin the same 512 pages: one charge,
    // and the second pin is not refused at a limit the first one fills.
    REQUIRE(ledger.pin(a, 0x10000000, 512 * P, 512) == 0);
    REQUIRE(ledger.pin(a, 0x10000000, 512 * P, 512) == 0);
    CHECK(ledger.pinned(u1000) == 512);
    // An overlapping pin (a COPY of half of it, then more) pays for what is new.
    CHECK(ledger.pin(a, 0x10000000 + 256 * P, 512 * P, 1024) == 0);
    CHECK(ledger.pinned(u1000) == 768);
    CHECK(ledger.pin(a, 0x10000000 + 768 * P, P, 768) == -ENOMEM);
    // Pages go when their last pin does.
    ledger.unpin(a, 0x10000000, 512 * P);
    CHECK(ledger.pinned(u1000) == 768);
    ledger.unpin(a, 0x10000000, 512 * P);
    CHECK(ledger.pinned(u1000) == 512);  // the COPY's 512 remain
    ledger.unpin(a, 0x10000000 + 256 * P, 512 * P);
    CHECK(ledger.pinned(u1000) == 0);
    // Another map's pages, even of the same memory, or another context's,
    // are their own: the kernel charges each IOAS_MAP.
    const PinLedger::Owner other_map{&ctx1, 2, u1000}, other_ctx{&ctx2, 1, u1000};
    REQUIRE(ledger.pin(a, 0, 4 * P, 100) == 0);
    REQUIRE(ledger.pin(other_map, 0, 4 * P, 100) == 0);
    REQUIRE(ledger.pin(other_ctx, 0, 4 * P, 100) == 0);
    CHECK(ledger.pinned(u1000) == 12);
    // A range that is not page aligned pins the pages it touches.
    REQUIRE(ledger.pin(a, 4 * P + 100, P, 100) == 0);
    CHECK(ledger.pinned(u1000) == 14);
    // What each context's pins are charged (its processes together).
    CHECK(ledger.charged(&ctx1) == 10);
    CHECK(ledger.charged(&ctx2) == 4);
    ledger.unpin(other_ctx, 0, 4 * P);
    CHECK(ledger.charged(&ctx2) == 0);
}

TEST_CASE("pin ledger: per-process accounts are their own, whatever the user", "[model]") {
    constexpr uint64_t P = 4096;
    PinLedger ledger;
    int ctx;
    // RLIMIT_MODE 1: two processes of one user, each against its own limit.
    const auto first = PinLedger::process(500, 1234), second = PinLedger::process(501, 1240);
    const PinLedger::Owner a{&ctx, 1, first}, b{&ctx, 2, second};
    CHECK(ledger.pin(a, 0, 256 * P, 384) == 0);
    CHECK(ledger.pin(b, 0, 256 * P, 384) == 0);
    CHECK(ledger.pin(b, 256 * P, 129 * P, 384) == -ENOMEM);
    CHECK(ledger.pinned(first) == 256);
    CHECK(ledger.pinned(second) == 256);
    // Not the user's: nothing is charged to a uid with the same number.
    CHECK(ledger.pinned(PinLedger::user(500)) == 0);
    // A later process given the same pid starts with nothing.
    const auto reused = PinLedger::process(500, 9999);
    CHECK(ledger.pinned(reused) == 0);
    CHECK(ledger.pin({&ctx, 3, reused}, 0, 384 * P, 384) == 0);
    // What the process locked otherwise (mlock) comes off its limit; the
    // caller passes the rest: 100 locked of 384 leaves 284, 256 held.
    CHECK(ledger.pin(b, 1ull << 30, 29 * P, 384 - 100) == -ENOMEM);
    CHECK(ledger.pin(b, 1ull << 30, 28 * P, 384 - 100) == 0);
    CHECK(ledger.pinned(second) == 284);
    ledger.unpin(a, 0, 256 * P);
    ledger.unpin(b, 1ull << 30, 28 * P);
    CHECK(ledger.pinned(first) == 0);
    CHECK(ledger.pinned(second) == 256);
}
