// The interrupts of a vfio-pci device as VFIO_DEVICE_SET_IRQS drives them
// (drivers/vfio/pci/vfio_pci_intrs.c): INTx with its automask, MSI and
// MSI-X vectors, and the device request IRQ, each signalled on an eventfd.
//
// Pure: eventfds are IrqSignal objects the caller resolves from the user's
// fd numbers (the daemon with pidfd_getfd, tests with counters).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ioasid::devices {

class IrqSignal {
  public:
    virtual ~IrqSignal() = default;
    virtual void signal() = 0;
};

// Resolves a user fd number to an eventfd: 0 or a negative errno
// (EBADF for no such fd, EINVAL for a file that is not an eventfd).
using EventfdResolver = std::function<int(int32_t fd, std::shared_ptr<IrqSignal>& out)>;

struct IrqCounts {
    uint32_t intx = 1;  // 0 when the device has no interrupt pin
    uint32_t msi = 1;
    uint32_t msix = 0;
    bool pcie = false;  // the ERR index exists only on PCI Express
};

class PciIrqs {
  public:
    explicit PciIrqs(IrqCounts counts) : counts_(counts) {}

    // vfio_pci_get_irq_count() for an index.
    uint32_t count(uint32_t index) const;
    // The handler of SET_IRQS after the header was validated against
    // count(index) and `data` was read: 0 or a negative errno.
    int set(uint32_t flags, uint32_t index, uint32_t start, uint32_t n, const uint8_t* data,
            const EventfdResolver& resolve);

    // The device's side: its INTx line and its MSI messages.
    void set_intx_line(bool asserted);
    void send_msi(uint32_t vector);
    bool msi_enabled() const { return type_ == Type::Msi || type_ == Type::Msix; }
    bool intx_enabled() const { return type_ == Type::Intx; }
    bool intx_masked() const { return intx_masked_; }
    // The device is reset or closed: every index off.
    void disable_all();

  private:
    enum class Type { None, Intx, Msi, Msix };

    IrqCounts counts_;
    Type type_ = Type::None;
    std::shared_ptr<IrqSignal> intx_;
    bool intx_masked_ = false;
    bool intx_line_ = false;
    std::vector<std::shared_ptr<IrqSignal>> vectors_;
    std::shared_ptr<IrqSignal> req_;

    int intx_trigger(uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                     const EventfdResolver& resolve);
    int intx_mask(bool mask, uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data);
    int msi_trigger(Type type, uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                    const EventfdResolver& resolve);
    int req_trigger(uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                    const EventfdResolver& resolve);
    void signal_intx();
};

}  // namespace ioasid::devices
