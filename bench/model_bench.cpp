// In-process cost of the model: MAP + UNMAP per op with 1K, 100K and 1M live
// areas, and the bytes each live area costs. The 1K run is the baseline the
// larger ones are compared with, in the same process.
//
// The areas are 4 KiB with 4 KiB holes between them, so an allocated 8 KiB
// mapping fits no hole among them: a linear first-fit walk (the kernel's)
// would visit every hole, the augmented tree skips them.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "model/ioas.h"

using namespace ioasid::model;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint8_t kRW = kProtRead | kProtWrite;

struct Result {
    size_t areas;
    double bytes_per_area;
    double fixed_ns;
    double alloc_ns;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// ns per MAP+UNMAP pair, median of several batches.
template <typename F>
double time_pairs(F&& one_pair, int pairs) {
    std::vector<double> batches;
    for (int b = 0; b < 15; ++b) {
        auto t0 = Clock::now();
        for (int i = 0; i < pairs; ++i) one_pair(i);
        std::chrono::duration<double, std::nano> d = Clock::now() - t0;
        batches.push_back(d.count() / pairs);
    }
    return median(batches);
}

Result run(size_t n) {
    size_t before = mallinfo2().uordblks;
    Ioas ioas;
    for (size_t i = 0; i < n; ++i) {
        uint64_t iova = 0x1000 + i * 0x2000;  // from the first allocatable IOVA
        if (ioas.map(0x7f0000000000 + i * 0x1000, 0x1000, kRW, true, 1, iova)) std::abort();
    }
    size_t after = mallinfo2().uordblks;
    const uint64_t top = 0x1000 + (n - 1) * 0x2000 + 0x1000;  // end of the last area

    // FIXED: into the holes between the areas, spread over the whole range.
    double fixed = time_pairs(
        [&](int i) {
            uint64_t iova = 0x1000 + (static_cast<uint64_t>(i) * 7919 % n) * 0x2000 + 0x1000;
            uint64_t unmapped;
            if (ioas.map(0x7e0000000000, 0x1000, kRW, true, 1, iova)) std::abort();
            if (ioas.unmap(iova, 0x1000, unmapped)) std::abort();
        },
        20000);
    // Allocated: 8 KiB fits no hole below `top`, so first fit lands past it.
    double alloc = time_pairs(
        [&](int) {
            uint64_t iova = 0, unmapped;
            if (ioas.map(0x7e0000000000, 0x2000, kRW, false, 1, iova)) std::abort();
            if (iova < top) std::abort();
            if (ioas.unmap(iova, 0x2000, unmapped)) std::abort();
        },
        20000);
    return {n, static_cast<double>(after - before) / n, fixed, alloc};
}

}  // namespace

int main() {
    std::vector<Result> results;
    for (size_t n : {size_t{1000}, size_t{100000}, size_t{1000000}}) results.push_back(run(n));
    const Result& base = results.front();
    std::printf("%10s %14s %16s %16s %12s %12s\n", "areas", "bytes/area", "fixed map+unmap",
                "alloc map+unmap", "fixed/1K", "alloc/1K");
    for (const Result& r : results)
        std::printf("%10zu %14.1f %13.0f ns %13.0f ns %11.2fx %11.2fx\n", r.areas, r.bytes_per_area,
                    r.fixed_ns, r.alloc_ns, r.fixed_ns / base.fixed_ns, r.alloc_ns / base.alloc_ns);
    std::printf("targets: <= 2x from 1K to 1M, <= 128 bytes per area\n");
    const Result& big = results.back();
    bool ok = big.fixed_ns <= 2 * base.fixed_ns && big.alloc_ns <= 2 * base.alloc_ns &&
              big.bytes_per_area <= 128;
    std::printf("model bench: %s\n", ok ? "targets met" : "TARGETS MISSED");
    return 0;
}
