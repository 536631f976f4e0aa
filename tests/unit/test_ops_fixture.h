// Contexts with test ops on (ioasidd --test-ops), with and without a
// topology for mock devices, for the tests of IOMMU_TEST_CMD and of what the
// kernel's selftest drives through it.
#pragma once

#include <catch2/catch.hpp>

#include "dispatch/iommufd.h"
#include "dispatch/iommufd_selftest.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "model/topology.h"
#include "unit/dispatch_fixture.h"

namespace ioasid::test {

struct TestOpsFixture : DispatchFixture {
    TestOpsFixture() { ctx.enable_test_ops(); }
    int test(iommu_test_cmd& c) {
        c.size = sizeof(c);
        return call(IOMMU_TEST_CMD, c);
    }
    int map(uint32_t ioas, uint64_t user_va, uint64_t iova, uint64_t len) {
        iommu_ioas_map m{
            sizeof(m), IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA, ioas, 0, user_va, len,
            iova};
        return call(IOMMU_IOAS_MAP, m);
    }
    int check_refs(uint64_t uptr, uint64_t length, uint32_t refs) {
        iommu_test_cmd c{};
        c.op = IOMMU_TEST_OP_MD_CHECK_REFS;
        c.check_refs.uptr = uptr;
        c.check_refs.length = length;
        c.check_refs.refs = refs;
        return test(c);
    }
};

struct MockFixture : TestOpsFixture {
    model::SharedTopology topo;
    MockFixture() { ctx.set_topology(&topo); }
    // MOCK_DOMAIN on pt_id: {stdev, hwpt, idev}, or the errno in `rc`.
    int mock(uint32_t pt_id, uint32_t& stdev, uint32_t& hwpt, uint32_t& idev, uint32_t flags = 0,
             bool with_flags = false) {
        iommu_test_cmd c{};
        c.op = with_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS : IOMMU_TEST_OP_MOCK_DOMAIN;
        c.id = pt_id;
        c.mock_domain_flags.dev_flags = flags;
        int rc = test(c);
        stdev = c.mock_domain.out_stdev_id;
        hwpt = c.mock_domain.out_hwpt_id;
        idev = c.mock_domain.out_idev_id;
        return rc;
    }
    int destroy(uint32_t id) {
        iommu_destroy d{sizeof(d), id};
        return call(IOMMU_DESTROY, d);
    }
};

}  // namespace ioasid::test
