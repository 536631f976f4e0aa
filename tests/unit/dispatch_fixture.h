// A context and a caller's memory, for tests of /dev/ioasid's commands.
#pragma once

#include <catch2/catch.hpp>

#include "dispatch/iommufd.h"
#include "ioasid/iommufd.h"
#include "unit/fake_memory.h"

namespace ioasid::test {

struct DispatchFixture {
    model::Context ctx;
    FakeMemory mem;
    dispatch::Caller caller;

    // The command on a copy of `s` in the caller's memory; `s` gets what the
    // command left there.
    template <typename T>
    int call(uint32_t cmd, T& s) {
        uint64_t at = mem.put(s);
        int rc = dispatch::iommufd_ioctl(ctx, cmd, at, mem, caller);
        s = mem.get<T>(at);
        return rc;
    }
    uint32_t alloc() {
        iommu_ioas_alloc a{sizeof(a), 0, 0};
        REQUIRE(call(IOMMU_IOAS_ALLOC, a) == 0);
        return a.out_ioas_id;
    }
};

}  // namespace ioasid::test
