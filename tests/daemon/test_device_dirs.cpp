// The sysfsdev directories QEMU 10 reads for a device node.
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/device_dirs.h"
#include "unit/temp_dir.h"

namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST_CASE("device dirs: what QEMU's sysfsdev= reads, and gone with the node", "[device-dirs]") {
    ioasid::test::TempDir tmp("device-dirs");
    const fs::path root = tmp.root / "devices";
    {
        ioasid::daemon::DeviceDirs dirs(root.string());
        REQUIRE(dirs.publish("fffe:00:00.0", "vfio/devices/vfio3", makedev(240, 4), 1000) == 0);
        REQUIRE(dirs.publish("0000:00:04.0", "vfio/devices/vfio4", makedev(240, 5), 7) == 0);
        const fs::path dev = root / "fffe:00:00.0" / "vfio-dev" / "vfio3" / "dev";
        CHECK(slurp(dev) == "240:4\n");
        // QEMU 7.2 takes the group number from the link's last part.
        CHECK(fs::read_symlink(root / "fffe:00:00.0" / "iommu_group").filename() == "1000");
        CHECK(fs::read_symlink(root / "0000:00:04.0" / "iommu_group") ==
              "/sys/kernel/iommu_groups/7");
        // QEMU takes the one vfio* entry of vfio-dev/.
        CHECK(std::distance(fs::directory_iterator(root / "fffe:00:00.0" / "vfio-dev"),
                            fs::directory_iterator{}) == 1);
        dirs.withdraw("fffe:00:00.0");
        CHECK_FALSE(fs::exists(root / "fffe:00:00.0"));
        CHECK(fs::exists(root / "0000:00:04.0"));
        // A stale directory (a daemon killed with -9) is replaced whole.
        fs::create_directories(root / "fffe:00:00.0" / "vfio-dev" / "vfio9");
        REQUIRE(dirs.publish("fffe:00:00.0", "vfio/devices/vfio0", makedev(240, 1), 1000) == 0);
        CHECK_FALSE(fs::exists(root / "fffe:00:00.0" / "vfio-dev" / "vfio9"));
        CHECK(slurp(root / "fffe:00:00.0" / "vfio-dev" / "vfio0" / "dev") == "240:1\n");
    }
    // The daemon's exit withdraws what it published.
    CHECK_FALSE(fs::exists(root / "fffe:00:00.0"));
    CHECK_FALSE(fs::exists(root / "0000:00:04.0"));
}

TEST_CASE("device dirs: a root that cannot be made is an error, not a crash", "[device-dirs]") {
    ioasid::test::TempDir tmp("device-dirs");
    const fs::path file = tmp.root / "a-file";
    std::ofstream(file) << "x";
    ioasid::daemon::DeviceDirs dirs((file / "devices").string());
    CHECK(dirs.publish("fffe:00:00.0", "vfio/devices/vfio0", makedev(240, 1), 1000) < 0);
}
