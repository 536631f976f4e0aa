// The emulation models a topology can name, by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "devices/emulated.h"

namespace ioasid::devices {

// nullptr for an unknown model.
std::unique_ptr<EmulatedPci> make_device(const std::string& model, uint64_t bar_size);
// The PCI ids a model presents; nullptr for an unknown model.
const PciIdentity* model_identity(const std::string& model);

}  // namespace ioasid::devices
