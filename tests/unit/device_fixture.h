// A device node's backend without CUSE: one edu in its own group, bound
// to one context, DMA into a FakeMemory, eventfds as counters. Shared by the
// device unit tests and the device fuzz target.
#pragma once

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "devices/edu.h"
#include "dispatch/vfio_device.h"
#include "fake_memory.h"
#include "iommu/device_dma.h"
#include "model/binding.h"

namespace ioasid::test {

constexpr int32_t kIommufd = 7;  // the test's only iommufd fd number

struct Counter : devices::IrqSignal {
    int count = 0;
    void signal() override { ++count; }
};

// The client's memory the device's IOMMU reaches (iommu/device_dma.h): the
// test's, whichever process the mapping names.
struct FakeClientMemory : iommu::ClientMemory {
    FakeMemory& mem;
    uint32_t last_pid = 0;
    explicit FakeClientMemory(FakeMemory& m) : mem(m) {}
    int read(uint32_t pid, uint64_t va, void* dst, uint64_t len) override {
        last_pid = pid;
        return mem.read(va, dst, len);
    }
    int write(uint32_t pid, uint64_t va, const void* src, uint64_t len) override {
        last_pid = pid;
        return mem.write(va, src, len);
    }
};

struct Backend : dispatch::DeviceBackend {
    model::Topology topo;
    model::Context ctx;
    // The ioeventfds watched, by id -> fd (before the device, whose table
    // drops its watches when it goes).
    std::map<uint64_t, int32_t> watched;
    devices::Edu edu;
    uint32_t dev_id = 0;
    bool is_bound = false;
    std::map<int32_t, std::shared_ptr<Counter>> fds;
    devices::EventfdResolver resolver = [this](int32_t fd,
                                               std::shared_ptr<devices::IrqSignal>& out) {
        auto it = fds.find(fd);
        if (it == fds.end()) return -EBADF;
        out = it->second;
        return 0;
    };

    Backend() {
        model::PciDevice d;
        d.address = "0000:00:10.0";
        d.model = "edu";
        d.group = 3;
        topo.add_device(d);
        topo.set_reserved(3, {{0xfee00000, 0xfeefffff, "msi"}});
    }
    bool bound() const override { return is_bound; }
    bool group_opened = false;  // VFIO_GROUP_GET_DEVICE_FD's file
    bool through_group() const override { return group_opened; }
    int bind(int32_t fd, uint32_t& id) override {
        if (is_bound) return -EINVAL;
        if (fd != kIommufd) return -EBADF;
        int rc = model::bind_device(ctx, topo, "0000:00:10.0", id);
        if (rc == 0) {
            dev_id = id;
            is_bound = true;
        }
        return rc;
    }
    void unbind() override {
        model::unbind_device(ctx, topo, dev_id);
        is_bound = false;
    }
    int attach(uint32_t& pt) override { return model::attach_device(ctx, topo, dev_id, pt); }
    void detach() override { model::detach_device(ctx, topo, dev_id); }
    devices::EmulatedPci& device() override { return edu; }
    devices::Ioeventfds::Watcher watcher = [this](int32_t fd, uint64_t id,
                                                  std::shared_ptr<void>& watch) {
        if (!fds.count(fd)) return -EBADF;
        watched[id] = fd;
        watch = std::shared_ptr<void>(nullptr, [this, id](void*) { watched.erase(id); });
        return 0;
    };
    const devices::Ioeventfds::Watcher& ioevent_watcher() override { return watcher; }
    // The user signals eventfd `fd`: each ioeventfd watching it fires.
    void signal(int32_t fd) {
        std::vector<uint64_t> ids;
        for (auto [id, f] : watched)
            if (f == fd) ids.push_back(id);
        for (uint64_t id : ids) edu.ioeventfds().fire(edu, id);
    }
    const devices::EventfdResolver& eventfds() override { return resolver; }
    int held = -ENOENT;  // one caller thread
    void hold_read(uint32_t low_bits) override { held = static_cast<int>(low_bits); }
    int take_held_read() override { return std::exchange(held, -ENOENT); }
};

}  // namespace ioasid::test
