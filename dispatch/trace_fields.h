// The arguments of a command, decoded for people: trace events show the
// fields of the struct an ioctl passed, as the caller gave them and as the
// command filled them in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ioasid::dispatch {

// Which node served the command: VFIO's device and type1 container
// commands share numbers (GET_PCI_HOT_RESET_INFO is IOMMU_GET_INFO's).
enum class NodeKind : uint8_t { Iommufd, Device };

enum class FieldFormat : uint8_t {
    Dec,
    Hex,     // addresses, lengths, flags
    Signed,  // file descriptors: -1 means none
};

struct DecodedField {
    const char* name;  // the uapi struct's field name
    uint64_t value;    // sign-extended for FieldFormat::Signed
    FieldFormat format;
    bool output;  // filled in by the command
};

// `before` is the struct as the command read it from the caller, `after` as
// the caller sees it once the command returned (what it read, overlaid with
// what it wrote); either may be shorter than the struct. Input fields come
// from `before`, outputs from `after` and only when the command succeeded.
// Commands without a struct, or unknown ones, decode to nothing.
std::vector<DecodedField> decode_arguments(NodeKind node, uint32_t cmd,
                                           std::span<const uint8_t> before,
                                           std::span<const uint8_t> after, bool succeeded);

}  // namespace ioasid::dispatch
