// A device with one memory BAR of plain RAM and a working reset: the
// simplest target for region access, and the one BAR a client may map.
// The RAM is a memfd, so that the VMM channel can hand the client the very
// memory the daemon reads and writes (vfio-pci's mmap of a memory BAR).
#pragma once

#include <cstdint>

#include "devices/emulated.h"

namespace ioasid::devices {

extern const PciIdentity kMemBarIdentity;

class MemBar final : public EmulatedPci {
  public:
    explicit MemBar(uint64_t size);
    ~MemBar() override;
    MemBar(const MemBar&) = delete;
    MemBar& operator=(const MemBar&) = delete;
    const char* model() const override { return "membar"; }
    static constexpr uint64_t kDefaultSize = 64 << 10;

    int bar_memory(uint32_t index) const override;

  protected:
    uint64_t bar_read(uint64_t off, unsigned size) override;
    void bar_write(uint64_t off, uint64_t val, unsigned size) override;
    void device_reset() override;
    // A fresh memfd: the old one stays with whoever still maps it.
    void take_back_memory() override;

  private:
    uint64_t mapped_ = 0;  // the BAR's size, rounded up to pages
    uint8_t* mem_ = nullptr;
    int fd_ = -1;  // -1: private memory (no memfd could be made), not mappable

    void allocate();
    void free_memory();
};

}  // namespace ioasid::devices
