// The preload library's fd table: what it remembers of each fd number, and
// what it forgets when a number changes hands.
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "fd_table.h"

using ioasid::preload::FdTable;
using ioasid::preload::FileKind;

TEST_CASE("preload fd table: numbers start unknown and keep what they are told", "[preload]") {
    FdTable t;
    CHECK(t.get(0) == FileKind::Unknown);
    CHECK(t.get(-1) == FileKind::Unknown);
    t.set(3, FileKind::Iommufd);
    t.set(4, FileKind::Device);
    t.set(5, FileKind::Other);
    CHECK(t.get(3) == FileKind::Iommufd);
    CHECK(t.get(4) == FileKind::Device);
    CHECK(t.get(5) == FileKind::Other);
    t.forget(4);
    CHECK(t.get(4) == FileKind::Unknown);
    CHECK(t.get(3) == FileKind::Iommufd);
}

TEST_CASE("preload fd table: large numbers, and numbers past the table", "[preload]") {
    FdTable t;
    t.set(5000, FileKind::Device);  // a second chunk
    t.set(FdTable::kCapacity - 1, FileKind::Device);
    CHECK(t.get(5000) == FileKind::Device);
    CHECK(t.get(FdTable::kCapacity - 1) == FileKind::Device);
    // Past it: never cached, so always classified again.
    t.set(FdTable::kCapacity, FileKind::Device);
    CHECK(t.get(FdTable::kCapacity) == FileKind::Unknown);
    t.set(-5, FileKind::Device);
    CHECK(t.get(-5) == FileKind::Unknown);
}

TEST_CASE("preload fd table: close_range forgets its range, and only it", "[preload]") {
    FdTable t;
    for (int fd : {2, 3, 10, 4095, 4096, 9000, 70000}) t.set(fd, FileKind::Device);
    t.forget_range(3, 4096);
    CHECK(t.get(2) == FileKind::Device);
    CHECK(t.get(3) == FileKind::Unknown);
    CHECK(t.get(10) == FileKind::Unknown);
    CHECK(t.get(4095) == FileKind::Unknown);
    CHECK(t.get(4096) == FileKind::Unknown);
    CHECK(t.get(9000) == FileKind::Device);
    // close_range's usual "everything from here on" (~0U).
    t.forget_range(5000, ~0u);
    CHECK(t.get(9000) == FileKind::Unknown);
    CHECK(t.get(70000) == FileKind::Unknown);
    CHECK(t.get(2) == FileKind::Device);
}

TEST_CASE("preload fd table: threads making the same chunks at once lose no entry", "[preload]") {
    // Each thread sets its own numbers, spread over chunks none exists of
    // yet: a chunk made twice, with one copy dropped, would lose entries.
    for (int round = 0; round < 20; ++round) {
        FdTable t;
        std::vector<std::thread> threads;
        for (int w = 0; w < 4; ++w)
            threads.emplace_back([&t, w] {
                for (int fd = w; fd < 16 * 4096; fd += 4 * 997) t.set(fd, FileKind::Device);
            });
        for (auto& th : threads) th.join();
        int missing = 0;
        for (int w = 0; w < 4; ++w)
            for (int fd = w; fd < 16 * 4096; fd += 4 * 997)
                missing += t.get(fd) != FileKind::Device;
        REQUIRE(missing == 0);
    }
}
