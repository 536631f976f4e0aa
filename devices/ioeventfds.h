// vfio-pci's ioeventfds (VFIO_DEVICE_IOEVENTFD) on an emulated device: a
// fixed write to a BAR, made each time the user's eventfd is signalled
// rather than by a region access. This is the table and its rules
// (vfio_pci_ioeventfd()); waiting on the eventfds is the owner's, which
// calls fire() with the device's commands serialised.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ioasid::devices {

class EmulatedPci;

class Ioeventfds {
  public:
    // Starts watching the user's eventfd `fd` so that fire(id) follows each
    // signal, until `watch` is dropped: 0, -EBADF (no such fd) or -EINVAL
    // (not an eventfd), as eventfd_ctx_fdget() says.
    using Watcher = std::function<int(int32_t fd, uint64_t id, std::shared_ptr<void>& watch)>;

    // `offset` in the device file, `count` bytes (1, 2, 4 or 8, checked by
    // the caller); fd -1 removes the one with the same offset, data and
    // count. 0, or the kernel's errno.
    int set(const EmulatedPci& dev, uint64_t offset, uint64_t data, uint32_t count, int32_t fd,
            const Watcher& watcher);
    // The eventfd of `id` was signalled: its write, if it is still there.
    void fire(EmulatedPci& dev, uint64_t id);
    // The device file is closed (vfio_pci_core_disable()): all go.
    void clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }

    static constexpr size_t kMax = 1000;  // VFIO_PCI_IOEVENTFD_MAX

  private:
    struct Entry {
        uint32_t bar;
        uint64_t pos, data;
        uint32_t count;
        uint64_t id;
        std::shared_ptr<void> watch;
    };
    std::vector<Entry> entries_;
    uint64_t next_id_ = 1;
};

}  // namespace ioasid::devices
