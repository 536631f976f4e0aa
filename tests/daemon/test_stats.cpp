#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>

#include "daemon/stats.h"

using namespace ioasid;
using namespace ioasid::daemon;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST_CASE("stats: every duration falls in a bucket whose midpoint is within 1/16 of it",
          "[stats]") {
    size_t last = 0;
    for (uint64_t ns = 1; ns < (uint64_t{1} << 40); ns += ns / 7 + 1) {
        const size_t b = CommandStats::bucket_of(ns);
        CHECK(b >= last);  // monotonic
        last = b;
        const double mid = CommandStats::midpoint_ns(b);
        if (ns >= 8) CHECK(std::abs(mid - static_cast<double>(ns)) <= ns / 16.0);
    }
    CHECK(CommandStats::bucket_of(UINT64_MAX) == CommandStats::kBuckets - 1);
}

TEST_CASE("stats: percentiles see the tail a mean hides", "[stats]") {
    CommandStats stats;
    // 98 calls of 100 us, two stalls of 50 ms: the mean is three times the
    // typical call, the median is the typical call.
    for (int i = 0; i < 98; ++i) stats.record(0, "IOAS_MAP", 0, 1, true, microseconds(100));
    for (int i = 0; i < 2; ++i) stats.record(0, "IOAS_MAP", 0, 1, true, microseconds(50000));
    stats.record(1, "IOAS_UNMAP", -22, 1, true, nanoseconds(-5));  // a clock step: 0
    const auto j = stats.to_json();
    const auto& map = j["IOAS_MAP"];
    CHECK(map["calls"] == 100);
    CHECK(map["mean_us"].get<double>() == Approx(1098.0));
    CHECK(map["p50_us"].get<double>() == Approx(100.0).epsilon(1.0 / 16));
    CHECK(map["p99_us"].get<double>() == Approx(50000.0).epsilon(1.0 / 16));
    CHECK(j["IOAS_UNMAP"]["errors"] == 1);
    CHECK(j["IOAS_UNMAP"]["p50_us"].get<double>() == 0.0);
    // Two calls: the median is the faster, the 99th percentile the slower.
    stats.record(3, "DESTROY", 0, 1, true, microseconds(600));
    stats.record(3, "DESTROY", 0, 1, true, microseconds(3000));
    const auto two = stats.to_json()["DESTROY"];
    CHECK(two["p50_us"].get<double>() == Approx(600.0).epsilon(1.0 / 16));
    CHECK(two["p99_us"].get<double>() == Approx(3000.0).epsilon(1.0 / 16));
    CommandStats none;
    none.record(2, "OPTION", 0, 1, true, microseconds(1));
    CHECK(none.to_json()["OPTION"]["p99_us"].get<double>() == Approx(1.0).epsilon(1.0 / 16));
}
