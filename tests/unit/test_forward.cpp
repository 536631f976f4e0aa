// A forwarded device's commands: carried to the real device as they are,
// with the caller's eventfds exchanged for the daemon's, through a fake
// device that records what it was given.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "dispatch/vfio_forward.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "unit/fake_memory.h"

using namespace ioasid;

namespace {

struct FakeDevice : dispatch::ForwardTarget {
    std::vector<unsigned long> cmds;
    std::vector<uint8_t> last_arg;  // what the device saw
    std::vector<int32_t> taken;
    int ended = 0;
    std::vector<uint8_t> bar = std::vector<uint8_t>(64, 0);

    int call(unsigned long cmd, void* arg) override {
        cmds.push_back(cmd);
        if (cmd == VFIO_DEVICE_GET_REGION_INFO) {
            auto* r = static_cast<vfio_region_info*>(arg);
            last_arg.assign(static_cast<uint8_t*>(arg), static_cast<uint8_t*>(arg) + r->argsz);
            if (r->index > 8) return -EINVAL;
            r->size = 0x1000;
            r->flags = 7;
            return 0;
        }
        if (cmd == VFIO_DEVICE_SET_IRQS) {
            auto* s = static_cast<vfio_irq_set*>(arg);
            last_arg.assign(static_cast<uint8_t*>(arg), static_cast<uint8_t*>(arg) + s->argsz);
        }
        return 0;
    }
    int64_t pread(void* buf, uint64_t len, uint64_t off) override {
        if (off + len > bar.size()) return -EINVAL;
        std::memcpy(buf, bar.data() + off, len);
        return static_cast<int64_t>(len);
    }
    int64_t pwrite(const void* buf, uint64_t len, uint64_t off) override {
        if (off + len > bar.size()) return -EINVAL;
        std::memcpy(bar.data() + off, buf, len);
        return static_cast<int64_t>(len);
    }
    int32_t take_fd(int32_t user_fd) override {
        if (user_fd == 99) return -1;  // the caller has no fd 99
        taken.push_back(user_fd);
        return 1000 + user_fd;
    }
    void end_call() override { ++ended; }
};

}  // namespace

TEST_CASE("forwarded GET_REGION_INFO goes to the device and comes back whole", "[forward]") {
    FakeDevice dev;
    test::FakeMemory mem;
    vfio_region_info r{sizeof(r), 0, 0, 0, 0, 0};
    uint64_t at = mem.put(r);
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, at, mem) == 0);
    r = mem.get<vfio_region_info>(at);
    CHECK(r.size == 0x1000);
    CHECK(r.flags == 7);
    CHECK(dev.ended == 1);
    r.index = 9;
    at = mem.put(r);
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, at, mem) == -EINVAL);
}

TEST_CASE("forwarded SET_IRQS carries the daemon's duplicates of the caller's eventfds",
          "[forward]") {
    FakeDevice dev;
    test::FakeMemory mem;
    const int32_t fds[3] = {5, -1, 99};
    std::vector<uint8_t> s(sizeof(vfio_irq_set) + sizeof(fds));
    const vfio_irq_set hdr{static_cast<uint32_t>(s.size()),
                           VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 2, 0, 3};
    std::memcpy(s.data(), &hdr, sizeof(hdr));
    std::memcpy(s.data() + sizeof(hdr), fds, sizeof(fds));
    uint64_t at = mem.put_bytes(s.data(), s.size());
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_SET_IRQS, at, mem) == 0);
    int32_t seen[3];
    std::memcpy(seen, dev.last_arg.data() + sizeof(vfio_irq_set), sizeof(seen));
    CHECK(seen[0] == 1005);        // the daemon's duplicate
    CHECK(seen[1] == -1);          // "none" stays
    CHECK(seen[2] == 0x7ffffff0);  // no such fd: the device's kernel answers EBADF
    CHECK(dev.taken == std::vector<int32_t>{5});
    CHECK(dev.ended == 1);  // the duplicates are closed after the call
    // The footprint covers the header and exactly the data argsz holds.
    auto fp = dispatch::vfio_forward_footprint(VFIO_DEVICE_SET_IRQS, at, mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == s.size());
}

TEST_CASE("forwarded region access is pread and pwrite at the device offset", "[forward]") {
    FakeDevice dev;
    test::FakeMemory mem;
    uint32_t v = 0x12345678;
    uint64_t data = mem.put(v);
    ioasidd_region_rw rw{sizeof(rw), IOASIDD_REGION_WRITE, 8, 4, data};
    REQUIRE(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == 4);
    uint32_t back;
    std::memcpy(&back, dev.bar.data() + 8, 4);
    CHECK(back == 0x12345678);
    rw = {sizeof(rw), 0, 8, 4, mem.put(uint32_t{0})};
    REQUIRE(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == 4);
    CHECK(mem.get<uint32_t>(rw.data) == 0x12345678);
    rw = {sizeof(rw), 2, 8, 4, data};
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == -EINVAL);
    // Commands that carry fds ioasidd does not exchange are refused.
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET, 0, mem) == -ENOTTY);
}
