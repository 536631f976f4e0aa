#include "devices/edu.h"

#include <cstring>
#include <vector>

namespace ioasid::devices {

namespace {

constexpr uint32_t kStatusComputing = 0x01;
constexpr uint32_t kStatusIrqFact = 0x80;
constexpr uint32_t kFactIrq = 0x01;
constexpr uint32_t kDmaIrq = 0x100;
constexpr uint64_t kDmaRun = 0x1;
constexpr uint64_t kDmaToRam = 0x2;
constexpr uint64_t kDmaRaiseIrq = 0x4;

}  // namespace

// QEMU's PCI ids for edu; subsystem from QEMU's defaults.
const PciIdentity kEduIdentity{0x1234, 0x11e8, 0x10, 0x00ff00, 0x1af4, 0x1100};

Edu::Edu() : EmulatedPci(kEduIdentity, kBarSize, IrqCounts{1, 1, 0, false}, false) {}

uint64_t Edu::bar_read(uint64_t off, unsigned size) {
    // Registers below 0x80 are 32-bit only; the DMA ones 32 or 64-bit.
    if ((off < 0x80 && size != 4) || (off >= 0x80 && size != 4 && size != 8)) return ~0ull;
    switch (off) {
        case 0x00:
            return 0x010000edu;
        case 0x04:
            return addr4_;
        case 0x08:
            return fact_;
        case 0x20:
            return status_;
        case 0x24:
            return irq_status_;
        case 0x80:
            return dma_src_;
        case 0x88:
            return dma_dst_;
        case 0x90:
            return dma_cnt_;
        case 0x98:
            return dma_cmd_;
        default:
            return ~0ull;
    }
}

void Edu::bar_write(uint64_t off, uint64_t val, unsigned size) {
    if ((off < 0x80 && size != 4) || (off >= 0x80 && size != 4 && size != 8)) return;
    // A DMA in flight locks its registers (dma_rw() in QEMU).
    const bool dma_busy = dma_cmd_ & kDmaRun;
    switch (off) {
        case 0x04:
            addr4_ = ~static_cast<uint32_t>(val);
            break;
        case 0x08:
            if (status_ & kStatusComputing) break;
            fact_ = static_cast<uint32_t>(val);
            compute_factorial();
            break;
        case 0x20:
            status_ = (val & kStatusIrqFact) ? status_ | kStatusIrqFact : status_ & ~kStatusIrqFact;
            break;
        case 0x60:
            raise_irq(static_cast<uint32_t>(val));
            break;
        case 0x64:
            lower_irq(static_cast<uint32_t>(val));
            break;
        case 0x80:
            if (!dma_busy) dma_src_ = val;
            break;
        case 0x88:
            if (!dma_busy) dma_dst_ = val;
            break;
        case 0x90:
            if (!dma_busy) dma_cnt_ = val;
            break;
        case 0x98:
            if (!(val & kDmaRun) || dma_busy) break;
            dma_cmd_ = val;
            run_dma();
            break;
        default:
            break;
    }
}

void Edu::compute_factorial() {
    uint32_t n = fact_, result = 1;
    for (uint32_t i = 2; i <= n; ++i) result *= i;  // wraps like QEMU's u32
    fact_ = result;
    status_ &= ~kStatusComputing;
    if (status_ & kStatusIrqFact) raise_irq(kFactIrq);
}

void Edu::run_dma() {
    const bool to_ram = dma_cmd_ & kDmaToRam;
    const uint64_t dev_addr = to_ram ? dma_src_ : dma_dst_;
    const uint64_t ram_addr = (to_ram ? dma_dst_ : dma_src_) & kDmaMask;
    const bool in_buffer = dev_addr >= kDmaStart && dma_cnt_ <= kDmaSize &&
                           dev_addr - kDmaStart <= kDmaSize - dma_cnt_;
    if (!in_buffer || !bus_master()) {
        ++dropped_dmas_;
    } else {
        uint8_t* dev = buf_.data() + (dev_addr - kDmaStart);
        // A fault leaves the buffer or RAM as the IOMMU left it; the device
        // still completes, as hardware would after a master abort.
        if (to_ram)
            dma_write(ram_addr, dev, dma_cnt_);
        else
            dma_read(ram_addr, dev, dma_cnt_);
    }
    dma_cmd_ &= ~kDmaRun;
    if (dma_cmd_ & kDmaRaiseIrq) raise_irq(kDmaIrq);
}

void Edu::raise_irq(uint32_t val) {
    irq_status_ |= val;
    if (!irq_status_) return;
    if (irqs().msi_enabled())
        send_msi(0);
    else
        raise_intx(true);
}

void Edu::lower_irq(uint32_t val) {
    irq_status_ &= ~val;
    if (!irq_status_ && !irqs().msi_enabled()) raise_intx(false);
}

void Edu::device_reset() {
    addr4_ = fact_ = status_ = irq_status_ = 0;
    dma_src_ = dma_dst_ = dma_cnt_ = dma_cmd_ = 0;
    buf_.fill(0);
    raise_intx(false);
}

}  // namespace ioasid::devices
