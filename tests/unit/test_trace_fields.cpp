// Trace decoding: which fields of which struct, from the bytes read and the
// bytes left for the caller.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "dispatch/iommufd.h"
#include "dispatch/trace_fields.h"
#include "dispatch/vfio_device.h"
#include "ioasid/ioasidd.h"
#include "ioasid/iommufd.h"
#include "ioasid/vfio.h"

using namespace ioasid::dispatch;

namespace {

template <typename T>
std::span<const uint8_t> bytes(const T& v, size_t n = sizeof(T)) {
    return {reinterpret_cast<const uint8_t*>(&v), n};
}

std::string show(const std::vector<DecodedField>& fields) {
    std::string s;
    for (const auto& f : fields) {
        s += f.output ? "out." : "";
        s += f.name;
        s += '=';
        s += f.format == FieldFormat::Signed ? std::to_string(static_cast<int64_t>(f.value))
                                             : std::to_string(f.value);
        s += f.format == FieldFormat::Hex ? "h " : " ";
    }
    return s;
}

}  // namespace

TEST_CASE("decode: IOAS_MAP's inputs from what was read, its iova from what was written",
          "[decode]") {
    iommu_ioas_map in{sizeof(in), IOMMU_IOAS_MAP_READABLE, 3, 0, 0x7000, 0x2000, 0};
    iommu_ioas_map out = in;
    out.iova = 0x100000;
    CHECK(show(decode_arguments(NodeKind::Iommufd, IOMMU_IOAS_MAP, bytes(in), bytes(out), true)) ==
          "flags=4h ioas_id=3 user_va=28672h length=8192h iova=0h out.iova=1048576h ");
    // Failed: no outputs, even if the command wrote some.
    CHECK(show(decode_arguments(NodeKind::Iommufd, IOMMU_IOAS_MAP, bytes(in), bytes(out), false)) ==
          "flags=4h ioas_id=3 user_va=28672h length=8192h iova=0h ");
}

TEST_CASE("decode: a short struct decodes only the fields it holds", "[decode]") {
    iommu_ioas_map in{};
    in.size = 12;
    in.flags = 1;
    in.ioas_id = 9;
    CHECK(show(decode_arguments(NodeKind::Iommufd, IOMMU_IOAS_MAP, bytes(in, 12), {}, true)) ==
          "flags=1h ioas_id=9 ");
    // Only the size was read (the command failed on it).
    CHECK(decode_arguments(NodeKind::Iommufd, IOMMU_IOAS_MAP, bytes(in, 4), bytes(in, 4), false)
              .empty());
}

TEST_CASE("decode: VFIO device commands, signed fds, and commands without a struct", "[decode]") {
    vfio_device_bind_iommufd bind{sizeof(bind), 0, -1, 0};
    CHECK(show(decode_arguments(NodeKind::Device, VFIO_DEVICE_BIND_IOMMUFD, bytes(bind),
                                bytes(bind), false)) == "flags=0h iommufd=-1 ");
    bind.iommufd = 5;
    vfio_device_bind_iommufd done = bind;
    done.out_devid = 1;
    CHECK(show(decode_arguments(NodeKind::Device, VFIO_DEVICE_BIND_IOMMUFD, bytes(bind),
                                bytes(done), true)) == "flags=0h iommufd=5 out.out_devid=1 ");

    vfio_region_info ri{sizeof(ri), 0, 7, 0, 0, 0};
    vfio_region_info ro = ri;
    ro.size = 0x1000;
    ro.offset = 0x70000000000ull;
    ro.flags = 3;
    CHECK(show(decode_arguments(NodeKind::Device, VFIO_DEVICE_GET_REGION_INFO, bytes(ri), bytes(ro),
                                true)) ==
          "index=7 out.flags=3h out.size=4096h out.offset=7696581394432h ");

    ioasidd_region_rw rw{sizeof(rw), IOASIDD_REGION_WRITE, 0x80, 4, 0x5000};
    CHECK(show(decode_arguments(NodeKind::Device, IOASIDD_REGION_RW, bytes(rw), bytes(rw), true)) ==
          "flags=1h offset=128h length=4h data=20480h ");

    CHECK(decode_arguments(NodeKind::Device, VFIO_DEVICE_RESET, {}, {}, true).empty());
    // One number, two commands: the node tells which.
    vfio_pci_hot_reset_info hri;
    hri.argsz = 44;
    hri.flags = 3;
    hri.count = 2;
    CHECK(show(decode_arguments(NodeKind::Device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, bytes(hri),
                                bytes(hri), true)) == "argsz=44 out.flags=3h out.count=2 ");
    CHECK(show(decode_arguments(NodeKind::Iommufd, VFIO_IOMMU_GET_INFO, bytes(hri), bytes(hri),
                                true)) != "argsz=44 out.flags=3h out.count=2 ");
    CHECK(decode_arguments(NodeKind::Device, 0x1234, bytes(rw), bytes(rw), true).empty());
}

TEST_CASE("decode: every command the nodes serve has a layout", "[decode]") {
    // A new command without one would trace with empty arguments.
    uint8_t zero[64] = {};
    for (uint32_t nr = 0; nr < 0x100; ++nr) {
        const uint32_t ours = _IO(IOASIDD_TYPE, nr), theirs = _IO(IOMMUFD_TYPE, nr);
        for (uint32_t cmd : {ours, theirs}) {
            // These take their argument by value: no struct to decode.
            if (cmd == VFIO_DEVICE_RESET || cmd == IOASIDD_FILE_ID || cmd == IOASIDD_NODE_KIND ||
                cmd == VFIO_GET_API_VERSION || cmd == VFIO_CHECK_EXTENSION ||
                cmd == VFIO_SET_IOMMU || cmd == IOASIDD_REGION_FAST_HELD ||
                cmd == IOASIDD_VFIO_CONTAINER || cmd == IOASIDD_VFIO_GROUP ||
                cmd == VFIO_GROUP_UNSET_CONTAINER)
                continue;
            // The fast region commands carry the access in the number and the argument.
            const char* name = vfio_device_command_name(cmd);
            if (name && std::string(name).find("_FAST") != std::string::npos) continue;
            INFO(std::hex << cmd);
            if (iommufd_command_name(cmd))
                CHECK_FALSE(decode_arguments(NodeKind::Iommufd, cmd, zero, zero, true).empty());
            if (vfio_device_command_name(cmd))
                CHECK_FALSE(decode_arguments(NodeKind::Device, cmd, zero, zero, true).empty());
        }
    }
}
