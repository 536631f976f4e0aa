// The device's IOMMU: an emulated device's DMA translated through the IOAS
// its bound context attached it to, then carried into the memory of the
// process that mapped each page, as the IOMMU and the pinned pages carry a
// real device's. A fault (no mapping, a write to a read-only one, the
// mapping's process gone) is EFAULT, and is told.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "devices/emulated.h"
#include "model/context.h"

namespace ioasid::iommu {

// Where a translation ends: the memory of process `pid` at `va` (the
// daemon's is process_vm_readv/writev on the client). 0, or -EFAULT (or
// another -errno) when it cannot be reached.
class ClientMemory {
  public:
    virtual ~ClientMemory() = default;
    virtual int read(uint32_t pid, uint64_t va, void* dst, uint64_t len) = 0;
    virtual int write(uint32_t pid, uint64_t va, const void* src, uint64_t len) = 0;
};

class DeviceDma final : public devices::DmaPort {
  public:
    // Whom the device's DMA is for now: the context and device id of the
    // file it is bound to, ctx null while it is bound to none.
    struct Binding {
        model::Context* ctx = nullptr;
        uint32_t dev_id = 0;
    };
    using BindingFn = std::function<Binding()>;
    using FaultFn = std::function<void(uint64_t iova, uint64_t length, bool write)>;

    DeviceDma(BindingFn binding, ClientMemory& memory, FaultFn on_fault = {})
        : binding_(std::move(binding)), memory_(memory), on_fault_(std::move(on_fault)) {}

    int read(uint64_t iova, void* dst, uint64_t len) override;
    int write(uint64_t iova, const void* src, uint64_t len) override;

  private:
    BindingFn binding_;
    ClientMemory& memory_;
    FaultFn on_fault_;
    int access(uint64_t iova, void* buf, uint64_t len, bool write);
};

}  // namespace ioasid::iommu
