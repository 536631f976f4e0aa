// A PCI function that ioasidd emulates, as a vfio-pci device shows it: a
// config space (with BARs sized by the write-all-ones probe), BAR regions,
// interrupts, reset, and DMA through the address space it is attached to.
//
// Subclasses give the BAR behaviour (EmulatedPci::bar_read/bar_write); the
// base class answers the VFIO questions (region and IRQ info) and splits
// region accesses as vfio-pci does (naturally aligned 8/4/2/1 bytes).
// Not thread-safe: the owner serialises calls.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "devices/ioeventfds.h"
#include "devices/irqs.h"

namespace ioasid::devices {

// DMA as the IOMMU translates it: 0, or -EFAULT when an IOVA of the range is
// unmapped or lacks the permission (an IOMMU fault).
class DmaPort {
  public:
    virtual ~DmaPort() = default;
    virtual int read(uint64_t iova, void* dst, uint64_t len) = 0;
    virtual int write(uint64_t iova, const void* src, uint64_t len) = 0;
};

struct PciIdentity {
    uint16_t vendor;
    uint16_t device;
    uint8_t revision;
    uint32_t class_code;  // 24 bits
    uint16_t subsystem_vendor;
    uint16_t subsystem;
};

struct RegionInfo {
    uint32_t flags = 0;  // VFIO_REGION_INFO_FLAG_*
    uint64_t size = 0;
};

struct IrqInfo {
    uint32_t flags = 0;  // VFIO_IRQ_INFO_*
    uint32_t count = 0;
};

class EmulatedPci {
  public:
    EmulatedPci(const PciIdentity& id, uint64_t bar0_size, IrqCounts irqs, bool reset_works);
    virtual ~EmulatedPci() = default;
    virtual const char* model() const = 0;

    // VFIO_DEVICE_GET_INFO.
    uint32_t info_flags() const;
    uint32_t num_regions() const;
    uint32_t num_irqs() const;
    // GET_REGION_INFO / GET_IRQ_INFO: 0 or -EINVAL, as vfio-pci decides.
    int region_info(uint32_t index, RegionInfo& out) const;
    // The memory behind BAR `index` where it is plain memory a client may
    // map as vfio-pci lets it map a BAR (an fd the device keeps), or -1
    // where the BAR traps every access.
    virtual int bar_memory(uint32_t) const { return -1; }
    int irq_info(uint32_t index, IrqInfo& out) const;

    // Region access at an offset inside region `index`: the bytes moved
    // (short at the region's end), or -EINVAL.
    int64_t region_read(uint32_t index, uint64_t off, void* buf, uint64_t len);
    int64_t region_write(uint32_t index, uint64_t off, const void* buf, uint64_t len);

    PciIrqs& irqs() { return irqs_; }
    Ioeventfds& ioeventfds() { return ioeventfds_; }
    // VFIO_DEVICE_RESET: -EINVAL when the device has no reset.
    int reset();
    // The device is no longer reachable by its user (close, revoke): stop
    // interrupts and DMA, as vfio-pci's close does.
    void quiesce();

    // vfio-pci's runtime low power (VFIO_DEVICE_FEATURE_LOW_POWER_*): -EINVAL
    // when already in it. The device suspends as soon as it enters; the next
    // access resumes it and, when `wake` is given, signals it and leaves low
    // power for good (vfio_pci_core_runtime_resume()).
    int low_power_entry(std::shared_ptr<IrqSignal> wake);
    void low_power_exit();
    bool low_power() const { return low_power_; }
    // Any access to the device (an ioctl, a region access).
    void resume();

    void set_dma(DmaPort* dma) { dma_ = dma; }
    uint64_t dma_faults() const { return dma_faults_; }

  protected:
    // One naturally aligned access of 1, 2, 4 or 8 bytes inside BAR0.
    virtual uint64_t bar_read(uint64_t off, unsigned size) = 0;
    virtual void bar_write(uint64_t off, uint64_t val, unsigned size) = 0;
    virtual void device_reset() = 0;
    // The user is gone (quiesce): memory lent by bar_memory() must not be
    // shared with the next one, whose maps the old user could still read.
    virtual void take_back_memory() {}

    // DMA through the IOMMU; a fault is counted and reported.
    int dma_read(uint64_t iova, void* dst, uint64_t len);
    int dma_write(uint64_t iova, const void* src, uint64_t len);
    bool bus_master() const;
    void raise_intx(bool level);
    void send_msi(uint32_t vector);

  private:
    static constexpr uint64_t kConfigSize = 256;
    static constexpr uint8_t kMsiCap = 0x40;

    PciIdentity id_;
    uint64_t bar0_size_;
    bool reset_works_;
    PciIrqs irqs_;
    Ioeventfds ioeventfds_;
    std::array<uint8_t, kConfigSize> config_{};
    uint32_t bar0_ = 0;  // what the user wrote to BAR0, before masking
    DmaPort* dma_ = nullptr;
    uint64_t dma_faults_ = 0;
    bool low_power_ = false;
    std::shared_ptr<IrqSignal> wake_;

    void init_config();
    uint32_t config_dword(uint64_t off) const;
    void config_write_dword(uint64_t off, uint32_t val, uint32_t mask);
    int64_t config_access(uint64_t off, void* buf, uint64_t len, bool write);
    int64_t bar_access(uint64_t off, void* buf, uint64_t len, bool write);
};

}  // namespace ioasid::devices
