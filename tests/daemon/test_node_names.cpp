// A node name ioasidd registers must be free in /dev: CUSE would take a
// name another driver has, and devtmpfs would keep that driver's node.
#include <catch2/catch.hpp>

#include "daemon/device_registry.h"

using namespace ioasid;
using namespace ioasid::daemon;

TEST_CASE("a node name taken in /dev is refused, a free one is not", "[daemon]") {
    CHECK_FALSE(node_name_free("null"));  // the kernel's mem driver, 1:3
    CHECK_FALSE(node_name_free("pts"));   // not a device at all
    CHECK(node_name_free("ioasidd-test-no-such-node"));
    CHECK(node_name_free("vfio/devices/ioasidd-test-no-such-node"));
}
