// IOMMU_TEST_CMD, as a kernel built with CONFIG_IOMMUFD_TEST answers it
// (drivers/iommu/iommufd/selftest.c): what the kernel's iommufd selftest
// drives. Served only in contexts with test ops on (ioasidd --test-ops).
#pragma once

#include "dispatch/ucmd.h"

namespace ioasid::dispatch {

int do_test_cmd(Ucmd& u);
// The user memory an op touches besides its struct (the footprint).
void test_cmd_arrays(const model::Context& ctx, const void* cmd, Footprint& fp);

// DESTROY of a selftest object (a mock device): it detaches and unbinds
// its device first. The caller holds the context's lock.
int destroy_test_object(model::Context& ctx, uint32_t id);
// A context's release: its mock devices go as DESTROY would take them.
void release_test_objects(model::Context& ctx);

// The pfn reader's batch memory limit the selftest sets and resets: kept,
// like the kernel's module-wide variable, though ioasidd has no batches for
// it to bound.
size_t test_memory_limit();

}  // namespace ioasid::dispatch
