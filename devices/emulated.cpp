#include "devices/emulated.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::devices {

namespace {

constexpr uint16_t kCmdMemory = 0x2;
constexpr uint16_t kCmdMaster = 0x4;
// Command bits a user may change: I/O, memory, master, parity, SERR, INTx disable.
constexpr uint16_t kCmdWritable = 0x0547;
constexpr uint16_t kStatusCapList = 0x10;
constexpr uint16_t kMsiCtrl64Bit = 0x80;
constexpr uint16_t kMsiCtrlEnable = 0x1;

void put16(uint8_t* p, uint16_t v) {
    std::memcpy(p, &v, 2);
}
void put32(uint8_t* p, uint32_t v) {
    std::memcpy(p, &v, 4);
}
uint16_t get16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

// vfio_pci_core_do_io_rw(): the largest naturally aligned access that fits.
unsigned access_size(uint64_t off, uint64_t left) {
    if (left >= 8 && !(off % 8)) return 8;
    if (left >= 4 && !(off % 4)) return 4;
    if (left >= 2 && !(off % 2)) return 2;
    return 1;
}

}  // namespace

EmulatedPci::EmulatedPci(const PciIdentity& id, uint64_t bar0_size, IrqCounts irqs,
                         bool reset_works)
    : id_(id), bar0_size_(bar0_size), reset_works_(reset_works), irqs_(irqs) {
    init_config();
}

void EmulatedPci::init_config() {
    config_.fill(0);
    uint8_t* c = config_.data();
    put16(c + 0x00, id_.vendor);
    put16(c + 0x02, id_.device);
    // pci_enable_device() at open turns memory decoding on; mastering is
    // the user's to enable.
    put16(c + 0x04, kCmdMemory);
    put16(c + 0x06, kStatusCapList);
    c[0x08] = id_.revision;
    c[0x09] = id_.class_code & 0xff;
    c[0x0a] = (id_.class_code >> 8) & 0xff;
    c[0x0b] = (id_.class_code >> 16) & 0xff;
    put16(c + 0x2c, id_.subsystem_vendor);
    put16(c + 0x2e, id_.subsystem);
    c[0x34] = kMsiCap;
    c[0x3d] = irqs_.count(VFIO_PCI_INTX_IRQ_INDEX) ? 1 : 0;  // INTA
    c[kMsiCap] = 0x05;                                       // MSI
    c[kMsiCap + 1] = 0;                                      // last capability
    put16(c + kMsiCap + 2, kMsiCtrl64Bit);
    bar0_ = 0;
}

uint32_t EmulatedPci::info_flags() const {
    return VFIO_DEVICE_FLAGS_PCI | (reset_works_ ? VFIO_DEVICE_FLAGS_RESET : 0);
}

uint32_t EmulatedPci::num_regions() const {
    return VFIO_PCI_NUM_REGIONS;
}
uint32_t EmulatedPci::num_irqs() const {
    return VFIO_PCI_NUM_IRQS;
}

int EmulatedPci::region_info(uint32_t index, RegionInfo& out) const {
    constexpr uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    out = {};
    switch (index) {
        case VFIO_PCI_BAR0_REGION_INDEX:
            // vfio-pci offers mmap of a page-sized memory BAR. CUSE cannot
            // mmap (ENODEV); the flag stays the kernel's answer.
            out.flags = rw | VFIO_REGION_INFO_FLAG_MMAP;
            out.size = bar0_size_;
            return 0;
        case VFIO_PCI_BAR1_REGION_INDEX:
        case VFIO_PCI_BAR2_REGION_INDEX:
        case VFIO_PCI_BAR3_REGION_INDEX:
        case VFIO_PCI_BAR4_REGION_INDEX:
        case VFIO_PCI_BAR5_REGION_INDEX:
        case VFIO_PCI_ROM_REGION_INDEX:
            return 0;  // unimplemented BARs and no ROM: size 0
        case VFIO_PCI_CONFIG_REGION_INDEX:
            out.flags = rw;
            out.size = kConfigSize;
            return 0;
        default:
            return refuse(-EINVAL, "no such region (no VGA, no device-specific ones)");
    }
}

int EmulatedPci::irq_info(uint32_t index, IrqInfo& out) const {
    if (index >= VFIO_PCI_NUM_IRQS) return refuse(-EINVAL, "no such IRQ index");
    if (index == VFIO_PCI_ERR_IRQ_INDEX && !irqs_.count(index))
        return refuse(-EINVAL, "no ERR IRQ: the device is not PCI Express");
    out.flags = VFIO_IRQ_INFO_EVENTFD;
    out.count = irqs_.count(index);
    if (index == VFIO_PCI_INTX_IRQ_INDEX)
        out.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    else
        out.flags |= VFIO_IRQ_INFO_NORESIZE;
    return 0;
}

int64_t EmulatedPci::region_read(uint32_t index, uint64_t off, void* buf, uint64_t len) {
    if (index == VFIO_PCI_CONFIG_REGION_INDEX) return config_access(off, buf, len, false);
    if (index == VFIO_PCI_BAR0_REGION_INDEX) return bar_access(off, buf, len, false);
    return refuse(-EINVAL, "read: a region without data");
}

int64_t EmulatedPci::region_write(uint32_t index, uint64_t off, const void* buf, uint64_t len) {
    void* p = const_cast<void*>(buf);  // not written through: `write` is true
    if (index == VFIO_PCI_CONFIG_REGION_INDEX) return config_access(off, p, len, true);
    if (index == VFIO_PCI_BAR0_REGION_INDEX) return bar_access(off, p, len, true);
    return refuse(-EINVAL, "write: a region without data");
}

int64_t EmulatedPci::bar_access(uint64_t off, void* buf, uint64_t len, bool write) {
    if (off >= bar0_size_) return refuse(-EINVAL, "BAR0: past its end");
    // vfio-pci refuses BAR access while memory decoding is off.
    if (!(get16(&config_[0x04]) & kCmdMemory)) return -EIO;
    len = std::min(len, bar0_size_ - off);
    auto* p = static_cast<uint8_t*>(buf);
    for (uint64_t done = 0; done < len;) {
        const unsigned n = access_size(off + done, len - done);
        uint64_t v = 0;
        if (write) {
            std::memcpy(&v, p + done, n);
            bar_write(off + done, v, n);
        } else {
            v = bar_read(off + done, n);
            std::memcpy(p + done, &v, n);
        }
        done += n;
    }
    return static_cast<int64_t>(len);
}

uint32_t EmulatedPci::config_dword(uint64_t off) const {
    if (off == 0x10) return bar0_ & ~static_cast<uint32_t>(bar0_size_ - 1);  // 32-bit memory BAR
    uint32_t v;
    std::memcpy(&v, &config_[off], 4);
    return v;
}

void EmulatedPci::config_write_dword(uint64_t off, uint32_t val, uint32_t mask) {
    uint8_t* c = config_.data();
    if (off == 0x04) {
        const uint16_t cmd = get16(c + 4);
        const uint16_t m = static_cast<uint16_t>(mask) & kCmdWritable;
        put16(c + 4, static_cast<uint16_t>((cmd & ~m) | (val & m)));
    } else if (off == 0x10) {
        bar0_ = (bar0_ & ~mask) | (val & mask);
    } else if (off == 0x3c) {
        if (mask & 0xff) c[0x3c] = val & 0xff;  // interrupt line only
    } else if (off == kMsiCap) {
        const uint16_t ctrl = get16(c + kMsiCap + 2);
        const uint16_t m = static_cast<uint16_t>(mask >> 16) & kMsiCtrlEnable;
        put16(c + kMsiCap + 2, static_cast<uint16_t>((ctrl & ~m) | ((val >> 16) & m)));
    } else if (off >= kMsiCap + 4 && off <= kMsiCap + 12) {
        uint32_t cur;
        std::memcpy(&cur, c + off, 4);
        put32(c + off, (cur & ~mask) | (val & mask));  // MSI address and data
    }
    // Everything else is read-only.
}

int64_t EmulatedPci::config_access(uint64_t off, void* buf, uint64_t len, bool write) {
    if (off >= kConfigSize) return refuse(-EINVAL, "config space: past its end");
    len = std::min(len, kConfigSize - off);
    auto* p = static_cast<uint8_t*>(buf);
    for (uint64_t at = off; at < off + len;) {
        const uint64_t dw = at & ~3ull;
        const uint64_t end = std::min(dw + 4, off + len);
        uint32_t val = config_dword(dw), mask = 0;
        for (uint64_t b = at; b < end; ++b) {
            const unsigned shift = 8 * (b - dw);
            if (write) {
                val = (val & ~(0xffu << shift)) | (uint32_t{p[b - off]} << shift);
                mask |= 0xffu << shift;
            } else {
                p[b - off] = static_cast<uint8_t>(val >> shift);
            }
        }
        if (write) config_write_dword(dw, val, mask);
        at = end;
    }
    return static_cast<int64_t>(len);
}

int EmulatedPci::reset() {
    if (!reset_works_) return refuse(-EINVAL, "RESET: the device has no function reset");
    irqs_.disable_all();
    init_config();
    device_reset();
    return 0;
}

int EmulatedPci::low_power_entry(std::shared_ptr<IrqSignal> wake) {
    if (low_power_) return refuse(-EINVAL, "LOW_POWER_ENTRY: in low power already");
    low_power_ = true;
    wake_ = std::move(wake);
    return 0;
}

void EmulatedPci::low_power_exit() {
    low_power_ = false;
    wake_.reset();
}

void EmulatedPci::resume() {
    if (!low_power_ || !wake_) return;
    wake_->signal();
    low_power_exit();
}

void EmulatedPci::quiesce() {
    ioeventfds_.clear();
    low_power_exit();
    irqs_.disable_all();
    init_config();
    device_reset();
    take_back_memory();
    dma_ = nullptr;
}

bool EmulatedPci::bus_master() const {
    return get16(&config_[0x04]) & kCmdMaster;
}

int EmulatedPci::dma_read(uint64_t iova, void* dst, uint64_t len) {
    int rc = dma_ ? dma_->read(iova, dst, len) : -EFAULT;
    if (rc) ++dma_faults_;
    return rc;
}

int EmulatedPci::dma_write(uint64_t iova, const void* src, uint64_t len) {
    int rc = dma_ ? dma_->write(iova, src, len) : -EFAULT;
    if (rc) ++dma_faults_;
    return rc;
}

void EmulatedPci::raise_intx(bool level) {
    irqs_.set_intx_line(level);
}
void EmulatedPci::send_msi(uint32_t vector) {
    irqs_.send_msi(vector);
}

}  // namespace ioasid::devices
