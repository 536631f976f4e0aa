#include "devices/irqs.h"

#include <cerrno>
#include <cstring>

#include "ioasid/vfio.h"
#include "model/refusal.h"

namespace ioasid::devices {

namespace {

int32_t fd_at(const uint8_t* data, uint32_t i) {
    int32_t fd;
    std::memcpy(&fd, data + i * sizeof(fd), sizeof(fd));
    return fd;
}

// The eventfd behind element i of an EVENTFD array; a negative fd means
// "none" (it de-assigns), which is not an error.
int eventfd_at(const uint8_t* data, uint32_t i, const EventfdResolver& resolve,
               std::shared_ptr<IrqSignal>& out) {
    const int32_t fd = fd_at(data, i);
    return fd < 0 ? 0 : resolve(fd, out);
}

// DATA_NONE always; DATA_BOOL only when the element is true.
bool wanted(uint32_t flags, const uint8_t* data, uint32_t i) {
    return (flags & VFIO_IRQ_SET_DATA_NONE) || ((flags & VFIO_IRQ_SET_DATA_BOOL) && data[i]);
}

}  // namespace

uint32_t PciIrqs::count(uint32_t index) const {
    switch (index) {
        case VFIO_PCI_INTX_IRQ_INDEX:
            return counts_.intx;
        case VFIO_PCI_MSI_IRQ_INDEX:
            return counts_.msi;
        case VFIO_PCI_MSIX_IRQ_INDEX:
            return counts_.msix;
        case VFIO_PCI_ERR_IRQ_INDEX:
            return counts_.pcie ? 1 : 0;
        case VFIO_PCI_REQ_IRQ_INDEX:
            return 1;
        default:
            return 0;
    }
}

int PciIrqs::set(uint32_t flags, uint32_t index, uint32_t start, uint32_t n, const uint8_t* data,
                 const EventfdResolver& resolve) {
    const uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    switch (index) {
        case VFIO_PCI_INTX_IRQ_INDEX:
            if (action == VFIO_IRQ_SET_ACTION_MASK) return intx_mask(true, flags, start, n, data);
            if (action == VFIO_IRQ_SET_ACTION_UNMASK)
                return intx_mask(false, flags, start, n, data);
            if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
                return intx_trigger(flags, start, n, data, resolve);
            break;
        case VFIO_PCI_MSI_IRQ_INDEX:
        case VFIO_PCI_MSIX_IRQ_INDEX:
            // The kernel has no MSI masking through this ioctl either.
            if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
                return msi_trigger(index == VFIO_PCI_MSI_IRQ_INDEX ? Type::Msi : Type::Msix, flags,
                                   start, n, data, resolve);
            break;
        case VFIO_PCI_REQ_IRQ_INDEX:
            if (action == VFIO_IRQ_SET_ACTION_TRIGGER)
                return req_trigger(flags, start, n, data, resolve);
            break;
        default:
            break;
    }
    return -ENOTTY;
}

int PciIrqs::intx_trigger(uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                          const EventfdResolver& resolve) {
    const bool is_intx = type_ == Type::Intx;
    if (is_intx && !n && (flags & VFIO_IRQ_SET_DATA_NONE)) {
        disable_all();
        return 0;
    }
    if (!(is_intx || type_ == Type::None) || start != 0 || n != 1)
        return refuse(-EINVAL, "SET_IRQS INTx: another type is on, or not one vector from 0");
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        std::shared_ptr<IrqSignal> trigger;
        int rc = eventfd_at(data, 0, resolve, trigger);
        if (rc) return rc;
        if (!is_intx) {
            type_ = Type::Intx;
            intx_masked_ = false;
        }
        intx_ = std::move(trigger);
        return 0;
    }
    if (!is_intx) return refuse(-EINVAL, "SET_IRQS INTx: INTx is not on");
    if (wanted(flags, data, 0)) signal_intx();
    return 0;
}

int PciIrqs::intx_mask(bool mask, uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data) {
    if (type_ != Type::Intx || start != 0 || n != 1)
        return refuse(-EINVAL, "SET_IRQS INTx mask: INTx is not on, or not one vector from 0");
    // Masking by eventfd is not implemented by the kernel either (ENOTTY);
    // unmasking by eventfd (an irqfd) is not offered here.
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) return mask ? -ENOTTY : -EOPNOTSUPP;
    if (!wanted(flags, data, 0)) return 0;
    if (mask) {
        intx_masked_ = true;
        return 0;
    }
    intx_masked_ = false;
    // A line still asserted fires again at once and stays masked.
    if (intx_line_) {
        intx_masked_ = true;
        signal_intx();
    }
    return 0;
}

int PciIrqs::msi_trigger(Type type, uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                         const EventfdResolver& resolve) {
    if (type_ == type && !n && (flags & VFIO_IRQ_SET_DATA_NONE)) {
        disable_all();
        return 0;
    }
    if (!(type_ == type || type_ == Type::None))
        return refuse(-EINVAL, "SET_IRQS: another interrupt type is on");
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
        // Resolve every fd first so that a bad one changes nothing.
        std::vector<std::shared_ptr<IrqSignal>> fds(n);
        for (uint32_t i = 0; i < n; ++i) {
            int rc = eventfd_at(data, i, resolve, fds[i]);
            if (rc) return rc;
        }
        if (type_ != type) {
            type_ = type;
            vectors_.assign(start + n, nullptr);
        } else if (vectors_.size() < start + n) {
            if (type == Type::Msi)  // MSI vectors are set up as a block
                return refuse(-EINVAL, "SET_IRQS MSI: vectors past the block set up");
            vectors_.resize(start + n);
        }
        for (uint32_t i = 0; i < n; ++i) vectors_[start + i] = std::move(fds[i]);
        return 0;
    }
    if (type_ != type) return refuse(-EINVAL, "SET_IRQS: the interrupt type is not on");
    for (uint32_t i = start; i < start + n && i < vectors_.size(); ++i)
        if (vectors_[i] && wanted(flags, data, i - start)) vectors_[i]->signal();
    return 0;
}

// vfio_pci_set_ctx_trigger_single(): DATA_NONE needs a trigger to loop back
// to or drop, an eventfd of -1 drops it, one below -1 is EINVAL.
int PciIrqs::req_trigger(uint32_t flags, uint32_t start, uint32_t n, const uint8_t* data,
                         const EventfdResolver& resolve) {
    if (start != 0 || n > 1) return refuse(-EINVAL, "SET_IRQS REQ: not one vector from 0");
    if (flags & VFIO_IRQ_SET_DATA_NONE) {
        if (!req_) return refuse(-EINVAL, "SET_IRQS REQ: no eventfd to trigger");
        if (n)
            req_->signal();
        else
            req_.reset();
        return 0;
    }
    if (!n) return refuse(-EINVAL, "SET_IRQS REQ: no vector");
    if (flags & VFIO_IRQ_SET_DATA_BOOL) {
        if (data[0] && req_) req_->signal();
        return 0;
    }
    const int32_t fd = fd_at(data, 0);
    if (fd == -1) {
        req_.reset();
        return 0;
    }
    if (fd < -1) return refuse(-EINVAL, "SET_IRQS REQ: an fd below -1");
    std::shared_ptr<IrqSignal> trigger;
    int rc = resolve(fd, trigger);
    if (rc) return rc;
    req_ = std::move(trigger);
    return 0;
}

void PciIrqs::signal_intx() {
    if (intx_) intx_->signal();
}

void PciIrqs::set_intx_line(bool asserted) {
    const bool rising = asserted && !intx_line_;
    intx_line_ = asserted;
    // vfio_intx_handler(): the first edge of the level masks and signals.
    if (rising && type_ == Type::Intx && !intx_masked_) {
        intx_masked_ = true;
        signal_intx();
    }
}

void PciIrqs::send_msi(uint32_t vector) {
    if (!msi_enabled() || vector >= vectors_.size() || !vectors_[vector]) return;
    vectors_[vector]->signal();
}

void PciIrqs::disable_all() {
    type_ = Type::None;
    intx_.reset();
    intx_masked_ = false;
    vectors_.clear();
}

}  // namespace ioasid::devices
