#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "model/area_tree.h"

using ioasid::model::Area;
using ioasid::model::AreaTree;
using ioasid::model::Hole;

namespace {

// The lowest hole of [from, to] \ areas of at least min_size, the slow way.
bool brute_hole(const std::map<uint64_t, uint64_t>& ref, uint64_t from, uint64_t to,
                uint64_t min_size, Hole& out) {
    uint64_t pos = from;
    for (auto [s, l] : ref) {
        if (l < pos) continue;
        if (s > to) break;
        if (s > pos && std::min(s - 1, to) - pos + 1 >= min_size) {
            out = {pos, std::min(s - 1, to)};
            return true;
        }
        if (l >= to) return false;
        pos = std::max(pos, l + 1);
    }
    if (pos > to || to - pos + 1 < min_size) return false;
    out = {pos, to};
    return true;
}

}  // namespace

TEST_CASE("area tree keeps areas ordered and finds neighbours", "[model][area_tree]") {
    AreaTree t;
    t.insert(Area{0x3000, 0x3fff, 0, 0, 1, false});
    t.insert(Area{0x1000, 0x1fff, 0, 0, 1, false});
    t.insert(Area{0x8000, 0x8fff, 0, 0, 1, false});
    REQUIRE(t.size() == 3);
    CHECK(t.first()->start == 0x1000);
    CHECK(t.next_after(0x1000)->start == 0x3000);
    CHECK(t.next_after(0x8000) == nullptr);
    CHECK(t.first_ending_at_or_after(0x2000)->start == 0x3000);
    CHECK(t.first_ending_at_or_after(0x3fff)->start == 0x3000);
    CHECK(t.first_intersecting(0x2000, 0x2fff) == nullptr);
    CHECK(t.first_intersecting(0x2000, 0x3000)->start == 0x3000);
    CHECK(t.erase(0x3000));
    CHECK_FALSE(t.erase(0x3000));
    CHECK(t.size() == 2);

    Hole h;
    REQUIRE(t.find_hole(0, 0xffff, 0x1000, h));
    CHECK(h.start == 0);
    CHECK(h.last == 0xfff);
    REQUIRE(t.find_hole(0x1000, 0xffff, 0x5000, h));
    CHECK(h.start == 0x2000);
    CHECK(h.last == 0x7fff);
    REQUIRE(t.find_hole(0x1000, 0xffff, 0x6001, h));
    CHECK(h.start == 0x9000);
    CHECK_FALSE(t.find_hole(0x1000, 0xffff, 0x8000, h));
}

TEST_CASE("area tree agrees with a brute-force reference", "[model][area_tree]") {
    std::mt19937_64 rng(42);
    AreaTree t;
    std::map<uint64_t, uint64_t> ref;
    for (int step = 0; step < 20000; ++step) {
        uint64_t s = rng() % 4096, len = 1 + rng() % 16;
        uint64_t l = s + len - 1;
        bool overlaps = t.first_intersecting(s, l) != nullptr;
        auto it = ref.upper_bound(l);
        bool ref_overlaps = it != ref.begin() && std::prev(it)->second >= s;
        REQUIRE(overlaps == ref_overlaps);
        if (!overlaps && rng() % 3) {
            t.insert(Area{s, l, s * 7, 1, 3, true});
            ref[s] = l;
        } else if (!ref.empty()) {
            auto victim = ref.lower_bound(rng() % 4096);
            if (victim == ref.end()) victim = ref.begin();
            REQUIRE(t.erase(victim->first));
            ref.erase(victim);
        }
        REQUIRE(t.size() == ref.size());
        uint64_t from = rng() % 4200, to = from + rng() % 600, min = 1 + rng() % 40;
        Hole a{}, b{};
        bool fa = t.find_hole(from, to, min, a), fb = brute_hole(ref, from, to, min, b);
        REQUIRE(fa == fb);
        if (fa) {
            REQUIRE(a.start == b.start);
            REQUIRE(a.last == b.last);
        }
    }
    size_t n = 0;
    uint64_t prev = 0;
    t.for_each([&](const Area& a) {
        if (n++) REQUIRE(a.start > prev);
        prev = a.start;
        REQUIRE(ref.at(a.start) == a.last);
    });
    CHECK(n == ref.size());
}

TEST_CASE("area tree handles the ends of the 64-bit space", "[model][area_tree]") {
    AreaTree t;
    const uint64_t max = ~uint64_t{0};
    t.insert(Area{max - 0xfff, max, 0, 0, 1, false});
    t.insert(Area{0, 0xfff, 0, 0, 1, false});
    Hole h;
    REQUIRE(t.find_hole(0, max, 1, h));
    CHECK(h.start == 0x1000);
    CHECK(h.last == max - 0x1000);
    CHECK_FALSE(t.find_hole(max - 0x10, max, 1, h));
}

TEST_CASE("area tree fills ascending densely and empties in any order", "[model][area_tree]") {
    AreaTree t;
    constexpr uint64_t n = 20000;
    for (uint64_t i = 0; i < n; ++i) t.insert(Area{i * 0x2000, i * 0x2000 + 0xfff, 0, 0, 1, false});
    REQUIRE(t.size() == n);
    uint64_t expect = 0, seen = 0;
    t.for_each([&](const Area& a) {
        REQUIRE(a.start == expect);
        expect += 0x2000;
        ++seen;
    });
    CHECK(seen == n);
    Hole h;
    REQUIRE(t.find_hole(0, ~uint64_t{0}, 0x1001, h));
    CHECK(h.start == n * 0x2000 - 0x1000);
    std::mt19937_64 rng(7);
    std::vector<uint64_t> order(n);
    for (uint64_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (uint64_t k = 0; k < n; ++k) {
        REQUIRE(t.erase(order[k] * 0x2000));
        if (k % 997 == 0) {
            const Area* a = t.first_ending_at_or_after(order[k] * 0x2000);
            if (a) CHECK(a->start > order[k] * 0x2000);
        }
    }
    CHECK(t.empty());
    CHECK(t.first() == nullptr);
    t.insert(Area{0x1000, 0x1fff, 0, 0, 1, false});
    CHECK(t.first()->start == 0x1000);
}
