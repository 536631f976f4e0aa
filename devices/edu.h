// QEMU's "edu" teaching device (hw/misc/edu.c), register for register: a
// 1 MiB BAR0 with identification, liveness, factorial, interrupt and DMA
// registers, a 4 KiB DMA buffer at device address 0x40000 and a 28-bit DMA
// mask, raising INTx or MSI vector 0.
//
// Differences, each deliberate: a DMA or a factorial completes within the
// register write that starts it (QEMU waits 100 ms or uses a thread; a
// correct driver polls or waits for the interrupt either way), and a DMA
// outside the buffer is dropped and counted instead of aborting QEMU.
#pragma once

#include <array>

#include "devices/emulated.h"

namespace ioasid::devices {

extern const PciIdentity kEduIdentity;

class Edu final : public EmulatedPci {
  public:
    Edu();
    const char* model() const override { return "edu"; }

    static constexpr uint64_t kBarSize = 1 << 20;
    static constexpr uint64_t kDmaStart = 0x40000;
    static constexpr uint64_t kDmaSize = 4096;
    static constexpr uint64_t kDmaMask = (1ull << 28) - 1;

    uint64_t dropped_dmas() const { return dropped_dmas_; }

  protected:
    uint64_t bar_read(uint64_t off, unsigned size) override;
    void bar_write(uint64_t off, uint64_t val, unsigned size) override;
    void device_reset() override;

  private:
    uint32_t addr4_ = 0;
    uint32_t fact_ = 0;
    uint32_t status_ = 0;
    uint32_t irq_status_ = 0;
    uint64_t dma_src_ = 0, dma_dst_ = 0, dma_cnt_ = 0, dma_cmd_ = 0;
    std::array<uint8_t, kDmaSize> buf_{};
    uint64_t dropped_dmas_ = 0;

    void raise_irq(uint32_t val);
    void lower_irq(uint32_t val);
    void run_dma();
    void compute_factorial();
};

}  // namespace ioasid::devices
