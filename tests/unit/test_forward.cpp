// A forwarded device's commands: carried to the real device as they are,
// with the caller's eventfds exchanged for the daemon's, through a fake
// device that records what it was given.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "dispatch/vfio_forward.h"
#include "ioasid/ioasidd.h"
#include "ioasid/vfio.h"
#include "model/refusal.h"
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
        if (cmd == VFIO_DEVICE_SET_IRQS || cmd == VFIO_DEVICE_PCI_HOT_RESET) {
            auto* s = static_cast<vfio_irq_set*>(arg);
            last_arg.assign(static_cast<uint8_t*>(arg), static_cast<uint8_t*>(arg) + s->argsz);
        }
        if (cmd == VFIO_DEVICE_IOEVENTFD)
            last_arg.assign(static_cast<uint8_t*>(arg),
                            static_cast<uint8_t*>(arg) + sizeof(vfio_device_ioeventfd));
        if (cmd == VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) return hot_reset_info(arg);
        return 0;
    }
    // A group-opened device's answer: group ids, as the legacy API gives.
    int reset_rc = 0;
    std::vector<vfio_pci_dependent_device> bus;
    int hot_reset_info(void* arg) {
        vfio_pci_hot_reset_info hdr;
        std::memcpy(&hdr, arg, sizeof(hdr));
        if (reset_rc) return reset_rc;
        hdr.flags = 0;
        const bool fits = bus.size() <= (hdr.argsz - sizeof(hdr)) / 8;
        hdr.count = static_cast<uint32_t>(bus.size());
        std::memcpy(arg, &hdr, sizeof(hdr));
        if (!fits) return -ENOSPC;
        std::memcpy(static_cast<uint8_t*>(arg) + sizeof(hdr), bus.data(), bus.size() * 8);
        return 0;
    }
    // The caller's context: devfn -> (devid, group).
    std::map<uint8_t, Dependent> owned;
    std::vector<std::vector<uint32_t>> resets;
    Dependent dependent(uint16_t, uint8_t, uint8_t devfn) override {
        auto it = owned.find(devfn);
        return it == owned.end() ? Dependent{uint32_t(VFIO_PCI_DEVID_NOT_OWNED), 0, false}
                                 : it->second;
    }
    int hot_reset(const std::vector<uint32_t>& groups) override {
        resets.push_back(groups);
        return 0;
    }
    // Opened through its group; the group files the caller's cookies name
    // (cookie -> group, or -errno).
    bool group_opened = false;
    std::map<uint64_t, int64_t> group_files;
    bool through_group() const override { return group_opened; }
    int group_file(uint64_t cookie, uint32_t& group) override {
        auto it = group_files.find(cookie);
        if (it == group_files.end()) return -EBADF;
        if (it->second < 0) return static_cast<int>(it->second);
        group = static_cast<uint32_t>(it->second);
        return 0;
    }
    bool tracks_dma() override { return false; }
    int query(unsigned long cmd, void* arg) override { return call(cmd, arg); }
    // As vfio-pci: short at the region's end, EINVAL past it.
    uint64_t largest_io = 0;
    int64_t pread(void* buf, uint64_t len, uint64_t off) override {
        if (off >= bar.size()) return -EINVAL;
        len = std::min<uint64_t>(len, bar.size() - off);
        largest_io = std::max(largest_io, len);
        std::memcpy(buf, bar.data() + off, len);
        return static_cast<int64_t>(len);
    }
    int64_t pwrite(const void* buf, uint64_t len, uint64_t off) override {
        if (off >= bar.size()) return -EINVAL;
        len = std::min<uint64_t>(len, bar.size() - off);
        largest_io = std::max(largest_io, len);
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
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_SET_IRQS, at, mem);
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
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_QUERY_GFX_PLANE, 0, mem) == -ENOTTY);
}

TEST_CASE("a large forwarded region access goes in bounded pieces, short at the region's end",
          "[forward]") {
    FakeDevice dev;
    dev.bar.resize(200 * 1024);
    for (size_t i = 0; i < dev.bar.size(); i++) dev.bar[i] = static_cast<uint8_t>(i * 7);
    test::FakeMemory mem;
    std::vector<uint8_t> out(300 * 1024);
    const uint64_t data = mem.put_bytes(out.data(), out.size());
    // Up to 2 GiB may be asked for; the daemon never buffers more than a piece.
    ioasidd_region_rw rw{sizeof(rw), 0, 0, out.size(), data};
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == 200 * 1024);
    CHECK(dev.largest_io == 64 * 1024);
    CHECK(std::equal(dev.bar.begin(), dev.bar.end(), mem.region(data).begin()));
    rw = {sizeof(rw), 0, 200 * 1024, 0, data};  // past the end, even for nothing
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == -EINVAL);
    rw = {sizeof(rw), 0, 0, 0x7fffffff, data};  // clipped at the region's end, as vfio-pci's
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == 200 * 1024);
    CHECK(dev.largest_io == 64 * 1024);
    rw = {sizeof(rw), 0, 0, 0x7fffffff, 0xdead0000};  // no memory of the caller's there
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == -EFAULT);
    std::fill(dev.bar.begin(), dev.bar.end(), 0);
    rw = {sizeof(rw), IOASIDD_REGION_WRITE, 4096, 130 * 1024, data};
    CHECK(dispatch::vfio_forward_ioctl(dev, IOASIDD_REGION_RW, mem.put(rw), mem) == 130 * 1024);
    CHECK(std::equal(dev.bar.begin() + 4096, dev.bar.begin() + 4096 + 130 * 1024,
                     mem.region(data).begin()));
}

namespace {

// Two devices behind one bridge, one group: devfn 0 bound as devid 7, devfn
// 8 its sibling.
FakeDevice bridged() {
    FakeDevice dev;
    dev.bus = {{{4}, 0, 5, 0}, {{4}, 0, 5, 8}};
    dev.owned[0] = {7, 4, true};
    dev.owned[8] = {uint32_t(VFIO_PCI_DEVID_OWNED), 4, true};
    return dev;
}

vfio_pci_dependent_device entry(const std::vector<uint8_t>& b, size_t i) {
    vfio_pci_dependent_device d;
    std::memcpy(&d, b.data() + sizeof(vfio_pci_hot_reset_info) + i * sizeof(d), sizeof(d));
    return d;
}

}  // namespace

TEST_CASE("forwarded GET_PCI_HOT_RESET_INFO answers with devids, as a cdev-opened device",
          "[forward]") {
    FakeDevice dev = bridged();
    test::FakeMemory mem;
    // No room: ENOSPC, and the count.
    vfio_pci_hot_reset_info hdr{sizeof(hdr), 0, 0};
    uint64_t at = mem.put(hdr);
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) ==
          -ENOSPC);
    hdr = mem.get<vfio_pci_hot_reset_info>(at);
    CHECK(hdr.count == 2);
    CHECK(hdr.flags == 0);
    // Room for both: the bound device's devid, its sibling owned.
    std::vector<uint8_t> b(sizeof(hdr) + 2 * sizeof(vfio_pci_dependent_device), 0xee);
    hdr = {static_cast<uint32_t>(b.size()), 0, 0};
    std::memcpy(b.data(), &hdr, sizeof(hdr));
    at = mem.put_bytes(b.data(), b.size());
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) == 0);
    mem.read(at, b.data(), b.size());
    std::memcpy(&hdr, b.data(), sizeof(hdr));
    CHECK(hdr.flags == (VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED));
    CHECK(hdr.count == 2);
    CHECK(entry(b, 0).devid == 7);
    CHECK(entry(b, 0).bus == 5);
    CHECK(entry(b, 1).devid == uint32_t(VFIO_PCI_DEVID_OWNED));
    CHECK(entry(b, 1).devfn == 8);
    // A device the caller does not own clears DEV_ID_OWNED.
    dev.owned.erase(8);
    at = mem.put_bytes(b.data(), b.size());
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) == 0);
    mem.read(at, b.data(), b.size());
    std::memcpy(&hdr, b.data(), sizeof(hdr));
    CHECK(hdr.flags == VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
    CHECK(entry(b, 1).devid == uint32_t(VFIO_PCI_DEVID_NOT_OWNED));
    // The real device's refusal comes back as it is.
    dev.reset_rc = -ENODEV;
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) ==
          -ENODEV);
}

TEST_CASE("forwarded PCI_HOT_RESET takes no group fds and needs every device owned", "[forward]") {
    FakeDevice dev = bridged();
    test::FakeMemory mem;
    auto reset = [&](vfio_pci_hot_reset r) {
        return dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET, mem.put(r), mem);
    };
    CHECK(reset({8, 0, 0}) == -EINVAL);
    CHECK(reset({12, 1, 0}) == -EINVAL);
    CHECK(reset({16, 0, 1}) == -EINVAL);  // group fds: only for group-opened devices
    CHECK(dev.resets.empty());
    REQUIRE(reset({12, 0, 0}) == 0);
    REQUIRE(dev.resets.size() == 1);
    CHECK(dev.resets[0] == std::vector<uint32_t>{4});  // one group, named once
    dev.owned.erase(8);
    CHECK(reset({12, 0, 0}) == -EINVAL);
    CHECK(dev.resets.size() == 1);
    // More devices than a first guess holds: asked again with room.
    dev = bridged();
    for (uint8_t fn = 1; fn <= 10; fn++) {
        dev.bus.push_back({{uint32_t(10 + fn)}, 0, 6, fn});
        dev.owned[fn] = {uint32_t(VFIO_PCI_DEVID_OWNED), uint32_t(10 + fn), true};
    }
    REQUIRE(reset({12, 0, 0}) == 0);
    CHECK(dev.resets.back().size() == 11);
    dev.reset_rc = -ENODEV;
    CHECK(reset({12, 0, 0}) == -ENODEV);
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_PCI_HOT_RESET, 0x1000, mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == 12);
    CHECK(fp.out.empty());
}

TEST_CASE("a group-opened forwarded device's GET_PCI_HOT_RESET_INFO names groups", "[forward]") {
    FakeDevice dev = bridged();
    dev.group_opened = true;
    dev.owned.erase(8);  // a device bound nowhere still has its group
    dev.owned[8] = {uint32_t(VFIO_PCI_DEVID_NOT_OWNED), 4, true};
    test::FakeMemory mem;
    std::vector<uint8_t> b(sizeof(vfio_pci_hot_reset_info) + 2 * 8, 0xee);
    vfio_pci_hot_reset_info hdr{static_cast<uint32_t>(b.size()), 0x55, 0};
    std::memcpy(b.data(), &hdr, sizeof(hdr));
    uint64_t at = mem.put_bytes(b.data(), b.size());
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) == 0);
    mem.read(at, b.data(), b.size());
    std::memcpy(&hdr, b.data(), sizeof(hdr));
    CHECK(hdr.flags == 0);
    CHECK(hdr.count == 2);
    CHECK(entry(b, 0).group_id == 4);
    CHECK(entry(b, 1).group_id == 4);
    CHECK(entry(b, 1).devfn == 8);
    // vfio_pci_fill_devs(): a device without a group cannot be reset.
    dev.owned[8].has_group = false;
    CHECK(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, at, mem) == -EPERM);
}

namespace {

struct GroupReset {
    FakeDevice dev = bridged();
    test::FakeMemory mem;
    GroupReset() {
        dev.group_opened = true;
        dev.group_files = {{0x1111, 4}, {0x2222, 9}, {0x3333, -EINVAL}};
    }
    int by_fds(std::vector<int32_t> fds, uint32_t count, uint32_t flags = 0) {
        std::vector<int32_t> w = {int32_t(12 + 4 * fds.size()), int32_t(flags), int32_t(count)};
        w.insert(w.end(), fds.begin(), fds.end());
        return dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_PCI_HOT_RESET,
                                            mem.put_bytes(w.data(), w.size() * 4), mem);
    }
    int by_cookies(std::vector<uint64_t> cookies, uint32_t count, uint32_t flags = 0,
                   uint32_t vfio_flags = 0) {
        ioasidd_hot_reset_groups g{};
        g.argsz = static_cast<uint32_t>(sizeof(g) + 8 * cookies.size());
        g.flags = flags;
        g.vfio_argsz = static_cast<uint32_t>(12 + 4 * cookies.size());
        g.vfio_flags = vfio_flags;
        g.count = count;
        std::vector<uint8_t> b(g.argsz);
        std::memcpy(b.data(), &g, sizeof(g));
        if (!cookies.empty()) std::memcpy(b.data() + sizeof(g), cookies.data(), 8 * cookies.size());
        return dispatch::vfio_forward_ioctl(dev, IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS,
                                            mem.put_bytes(b.data(), b.size()), mem);
    }
};

}  // namespace

TEST_CASE("a group-opened forwarded device's PCI_HOT_RESET takes group fds, in the kernel's order",
          "[forward]") {
    GroupReset r;
    CHECK(r.by_fds({}, 0) == -EINVAL);         // a zero-length array is the cdev's
    CHECK(r.by_fds({5}, 1, 1) == -EINVAL);     // flags
    CHECK(r.by_fds({5, 6, 7}, 3) == -EINVAL);  // more fds than devices the reset reaches
    CHECK(r.by_fds({99}, 1) == -EBADF);        // no such fd
    CHECK(r.by_fds({5}, 1) == -EINVAL);        // a file, but never a group by number
    CHECK(r.dev.resets.empty());
    // Unreadable fds: EFAULT, but only after the count is checked.
    vfio_pci_hot_reset hdr{16, 0, 1};
    CHECK(dispatch::vfio_forward_ioctl(r.dev, VFIO_DEVICE_PCI_HOT_RESET, r.mem.put(hdr), r.mem) ==
          -EFAULT);
    hdr.count = 3;
    CHECK(dispatch::vfio_forward_ioctl(r.dev, VFIO_DEVICE_PCI_HOT_RESET, r.mem.put(hdr), r.mem) ==
          -EINVAL);
    // The retry path's footprint names the fds only where the call copies
    // them: a range it names is copied first, and one it cannot read would
    // be EFAULT where the kernel says EINVAL.
    auto footprint = [&](vfio_pci_hot_reset h) {
        return dispatch::vfio_forward_footprint(r.dev, VFIO_DEVICE_PCI_HOT_RESET, r.mem.put(h),
                                                r.mem);
    };
    auto fp = footprint({20, 0, 2});
    REQUIRE(fp.in.size() == 2);
    CHECK(fp.in[1].len == 8);
    CHECK(footprint({24, 0, 3}).in.size() == 1);  // more fds than devices
    CHECK(footprint({16, 1, 1}).in.size() == 1);  // flags
    r.dev.reset_rc = -ENODEV;                     // no slot or bus reset comes before the fds
    CHECK(r.by_fds({99}, 1) == -ENODEV);
    CHECK(footprint({16, 0, 1}).in.size() == 1);
    r.dev.reset_rc = 0;
    r.dev.group_opened = false;  // a cdev-opened device copies no fds
    CHECK(footprint({16, 0, 1}).in.size() == 1);
}

TEST_CASE("PCI_HOT_RESET_GROUPS: the library's cookies name the group files", "[forward]") {
    GroupReset r;
    REQUIRE(r.by_cookies({0x1111}, 1) == 0);
    REQUIRE(r.dev.resets.size() == 1);
    CHECK(r.dev.resets[0] == std::vector<uint32_t>{4});
    CHECK(r.by_cookies({0x2222, 0x1111}, 2) == 0);  // another group besides is no harm
    CHECK(r.by_cookies({0x2222}, 1) == -EINVAL);    // the bridge's group is not among them
    CHECK(r.by_cookies({IOASIDD_HOT_RESET_NO_FILE, 0x1111}, 2) == -EBADF);
    clear_refusal();  // the first fd that fails decides, and only its reason is noted
    CHECK(r.by_cookies({IOASIDD_HOT_RESET_NO_FILE, IOASIDD_HOT_RESET_NOT_OURS}, 2) == -EBADF);
    CHECK(refusal() == nullptr);
    CHECK(r.by_cookies({IOASIDD_HOT_RESET_NOT_OURS}, 1) == -EINVAL);
    CHECK(r.by_cookies({0x3333}, 1) == -EINVAL);  // /dev/ioasid, but not a group
    CHECK(r.by_cookies({0x4444}, 1) == -EBADF);   // a file closed since
    CHECK(r.by_cookies({0x1111}, 1, IOASIDD_HOT_RESET_FDS_UNREADABLE) == -EFAULT);
    CHECK(r.by_cookies({0x1111}, 1, 2) == -EINVAL);     // ioasidd's flags
    CHECK(r.by_cookies({0x1111}, 1, 0, 1) == -EINVAL);  // VFIO's flags
    CHECK(r.by_cookies({}, 0) == -EINVAL);
    CHECK(r.dev.resets.size() == 2);
    // A device without a group is in none given.
    r.dev.owned[8].has_group = false;
    CHECK(r.by_cookies({0x1111}, 1) == -EINVAL);
    ioasidd_hot_reset_groups g{};
    g.argsz = sizeof(g) + 16;
    g.vfio_argsz = 20;
    g.count = 2;
    auto footprint = [&] {
        return dispatch::vfio_forward_footprint(r.dev, IOASIDD_DEVICE_PCI_HOT_RESET_GROUPS,
                                                r.mem.put(g), r.mem);
    };
    r.dev.owned[8].has_group = true;
    auto fp = footprint();
    REQUIRE(fp.in.size() == 2);
    CHECK(fp.in[0].len == sizeof(g));
    CHECK(fp.in[1].len == 16);
    g.flags = IOASIDD_HOT_RESET_FDS_UNREADABLE;
    CHECK(footprint().in.size() == 1);
    g.flags = 0;
    g.argsz = sizeof(g) + 8;  // short of its cookies: refused before them
    CHECK(footprint().in.size() == 1);
    // A cdev-opened device takes no groups, and resets by its context.
    r.dev = bridged();
    CHECK(r.by_cookies({0x1111}, 1) == -EINVAL);
    CHECK(r.by_cookies({}, 0) == 0);
    g.argsz = sizeof(g) + 16;
    CHECK(footprint().in.size() == 1);
}

TEST_CASE("forwarded IOEVENTFD carries the daemon's duplicate of the caller's eventfd",
          "[forward]") {
    FakeDevice dev;
    test::FakeMemory mem;
    vfio_device_ioeventfd ev{28, VFIO_DEVICE_IOEVENTFD_32, 0x4, 0x1234, 5, 0};
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_IOEVENTFD, mem.put(ev), mem) == 0);
    vfio_device_ioeventfd seen;
    std::memcpy(&seen, dev.last_arg.data(), sizeof(seen));
    CHECK(seen.fd == 1005);
    CHECK(seen.offset == 0x4);
    CHECK(seen.data == 0x1234);
    CHECK(seen.flags == VFIO_DEVICE_IOEVENTFD_32);
    CHECK(dev.ended == 1);
    ev.fd = -1;  // removal: no fd to take
    REQUIRE(dispatch::vfio_forward_ioctl(dev, VFIO_DEVICE_IOEVENTFD, mem.put(ev), mem) == 0);
    std::memcpy(&seen, dev.last_arg.data(), sizeof(seen));
    CHECK(seen.fd == -1);
    CHECK(dev.taken == std::vector<int32_t>{5});
    // Only the words up to fd are the caller's to provide.
    auto fp = dispatch::vfio_forward_footprint(dev, VFIO_DEVICE_IOEVENTFD, 0x1000, mem);
    REQUIRE(fp.in.size() == 1);
    CHECK(fp.in[0].len == 28);
}
