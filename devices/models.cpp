#include "devices/models.h"

#include "devices/edu.h"
#include "devices/membar.h"

namespace ioasid::devices {

const PciIdentity* model_identity(const std::string& model) {
    if (model == "edu") return &kEduIdentity;
    if (model == "membar") return &kMemBarIdentity;
    return nullptr;
}

std::unique_ptr<EmulatedPci> make_device(const std::string& model, uint64_t bar_size) {
    if (model == "edu") return std::make_unique<Edu>();
    if (model == "membar")
        return std::make_unique<MemBar>(bar_size ? bar_size : MemBar::kDefaultSize);
    return nullptr;
}

}  // namespace ioasid::devices
