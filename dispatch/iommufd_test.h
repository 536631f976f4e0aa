// IOMMU_TEST_CMD, as a kernel built with CONFIG_IOMMUFD_TEST answers it
// (drivers/iommu/iommufd/selftest.c): what the kernel's iommufd selftest
// drives. Served only in contexts with test ops on (ioasidd --test-ops).
#pragma once

#include "dispatch/ucmd.h"

namespace ioasid::dispatch {

// The ops served so far touch no user memory besides the struct.
int do_test_cmd(Ucmd& u);

// The pfn reader's batch memory limit the selftest sets and resets: kept,
// like the kernel's module-wide variable, though ioasidd has no batches for
// it to bound.
size_t test_memory_limit();

}  // namespace ioasid::dispatch
