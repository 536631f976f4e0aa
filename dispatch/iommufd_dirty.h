// Dirty tracking of paging HWPTs: IOMMU_HWPT_SET_DIRTY_TRACKING,
// IOMMU_HWPT_GET_DIRTY_BITMAP (drivers/iommu/iommufd/io_pagetable.c), and
// the selftest's IOMMU_TEST_OP_DIRTY that plays a device writing. Only the
// selftest's mock IOMMU tracks dirty pages; its IO pages are half a page.
#pragma once

#include "dispatch/ucmd.h"
#include "ioasid/iommufd_test.h"
#include "model/objects.h"

namespace ioasid::dispatch {

int do_set_dirty_tracking(Ucmd& u);
int do_get_dirty_bitmap(Ucmd& u);
// The bitmap bytes GET_DIRTY_BITMAP will set bits in (read, then written).
void dirty_bitmap_arrays(const model::Context& ctx, const void* cmd, Footprint& fp);

// IOMMU_TEST_OP_DIRTY on a mock domain; `hwpt` is the command's.
int test_dirty(Ucmd& u, model::HwptPagingObject& hwpt, const iommu_test_cmd& cmd);
// The bitmap it reads, when its arguments pass.
void test_dirty_arrays(const iommu_test_cmd& cmd, Footprint& fp);

}  // namespace ioasid::dispatch
