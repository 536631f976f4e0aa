// The CUSE transport end to end, against a harness playing the kernel.
#include <linux/fuse.h>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <thread>

#include "cuse/loop.h"
#include "cuse/node.h"
#include "daemon/iommufd_handler.h"
#include "dispatch/caller_source.h"
#include "host/caller.h"
#include "ioasid/iommufd.h"
#include "kernel_harness.h"

using namespace ioasid;
using namespace ioasid::daemon;
using test::KernelHarness;

namespace {

struct Served {
    explicit Served(bool direct, std::chrono::microseconds busy_poll = {}, unsigned workers = 2) {
        cuse::NodeConfig cfg;
        cfg.devname = "ioasid";
        cfg.direct_memory = direct;
        cfg.busy_poll = busy_poll;
        cfg.make_caller = host::make_caller;  // as the daemon wires it
        cfg.on_ready = [this] { ready_calls++; };
        std::string err;
        node = cuse::CuseNode::create(cfg, handler, harness.take_daemon_fd(), err);
        REQUIRE(node);
        loop.on_node_exit([this](cuse::CuseNode&) { exits++; });
        REQUIRE(loop.add(*node) == 0);
        loop.start(workers);
        KernelHarness::InitReply init;
        REQUIRE(harness.init(init) == 0);
        init_reply = init;
    }
    ~Served() {
        harness.hang_up();
        loop.stop();
        loop.join();
    }
    uint64_t open() {
        uint64_t fh = 0;
        REQUIRE(harness.open(fh) == 0);
        return fh;
    }

    KernelHarness harness;
    IommufdHandler handler;
    std::unique_ptr<cuse::CuseNode> node;
    cuse::Loop loop;
    KernelHarness::InitReply init_reply;
    std::atomic<int> ready_calls{0};
    std::atomic<int> exits{0};
};

}  // namespace

TEST_CASE("CUSE_INIT registers the node with unrestricted ioctls", "[cuse]") {
    Served s(true);
    CHECK(s.init_reply.flags & CUSE_UNRESTRICTED_IOCTL);
    CHECK(s.init_reply.dev_info == std::string("DEVNAME=ioasid\0", 15));
    // libfuse calls init_done just after the reply has gone out.
    for (int i = 0; i < 200 && !s.node->ready(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(s.node->ready());
    CHECK(s.ready_calls == 1);
}

TEST_CASE("one round trip per ioctl when the caller's memory is reachable", "[cuse]") {
    Served s(true);
    uint64_t fh = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    auto r = s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc);
    CHECK(r.result == 0);
    CHECK(r.rounds == 1);
    CHECK(alloc.out_ioas_id == 1);

    static char buffer[1 << 16];
    iommu_ioas_map map{sizeof(map),
                       IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
                       1,
                       0,
                       reinterpret_cast<uint64_t>(buffer),
                       sizeof(buffer),
                       0};
    r = s.harness.ioctl(fh, IOMMU_IOAS_MAP, &map);
    CHECK(r.result == 0);
    CHECK(r.rounds == 1);
    CHECK(map.iova != 0);

    iommu_iova_range ranges[2] = {};
    iommu_ioas_iova_ranges q{sizeof(q), 1, 2, 0, reinterpret_cast<uint64_t>(ranges), 0};
    r = s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, &q);
    CHECK(r.result == 0);
    CHECK(r.rounds == 1);
    CHECK(q.num_iovas == 1);
    CHECK(ranges[0].last == ~0ull);

    // A command's statistics are kept after its reply has gone out (its
    // time includes the reply): the harness may see the reply first.
    auto stats = s.handler.stats().to_json();
    for (int i = 0; i < 200 && stats["IOAS_MAP"].is_null(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        stats = s.handler.stats().to_json();
    }
    CHECK(stats["IOAS_MAP"]["round_trips"] == 1);
    CHECK(stats["IOAS_MAP"]["direct"] == 1);
}

TEST_CASE("the retry protocol serves the same answers", "[cuse]") {
    // Either the daemon refuses itself direct access, or the caller's pid is
    // invisible to it: both must fall back to the kernel copying for us.
    bool direct = GENERATE(false, true);
    Served s(direct);
    uint64_t fh = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    auto r = s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, false);
    CHECK(r.result == 0);
    CHECK(r.rounds == 3);  // size, then the struct, then the answer
    CHECK(alloc.out_ioas_id == 1);

    iommu_iova_range ranges[3];
    std::memset(ranges, 0xa5, sizeof(ranges));
    iommu_ioas_iova_ranges q{sizeof(q), 1, 3, 0, reinterpret_cast<uint64_t>(ranges), 0};
    r = s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, &q, false);
    CHECK(r.result == 0);
    CHECK(r.rounds == 4);  // one more for the array the struct points to
    CHECK(q.num_iovas == 1);
    CHECK(q.out_iova_alignment == 1);
    CHECK(ranges[0].start == 0);
    CHECK(ranges[0].last == ~0ull);
    // What the kernel would not write stays as the caller left it.
    CHECK(ranges[1].start == 0xa5a5a5a5a5a5a5a5ull);

    q = {sizeof(q), 1, 0, 0, 0, 0};
    r = s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, &q, false);
    CHECK(r.result == -EMSGSIZE);
    CHECK(q.num_iovas == 1);  // written back with the error, as the kernel does

    iommu_iova_range allow[2] = {{0x100000, 0x1fffff}, {0x400000, 0x4fffff}};
    iommu_ioas_allow_iovas a{sizeof(a), 1, 2, 0, reinterpret_cast<uint64_t>(allow)};
    r = s.harness.ioctl(fh, IOMMU_IOAS_ALLOW_IOVAS, &a, false);
    CHECK(r.result == 0);
    static char buffer[0x2000];
    iommu_ioas_map map{sizeof(map),
                       IOMMU_IOAS_MAP_READABLE,
                       1,
                       0,
                       reinterpret_cast<uint64_t>(buffer),
                       sizeof(buffer),
                       0};
    r = s.harness.ioctl(fh, IOMMU_IOAS_MAP, &map, false);
    CHECK(r.result == 0);
    CHECK(map.iova >= 0x100000);
    CHECK(map.iova <= 0x1fe000);

    auto stats = s.handler.stats().to_json();
    CHECK(stats["IOAS_ALLOC"]["round_trips"] == 3);
    CHECK(stats["IOAS_ALLOC"]["direct"] == 0);
}

TEST_CASE("a range buffer shorter than num_iovas claims is fine when fewer exist", "[cuse]") {
    bool visible = GENERATE(true, false);
    Served s(true);
    uint64_t fh = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    REQUIRE(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, visible).result == 0);
    // One element right before an inaccessible page; the caller claims four.
    const long page = sysconf(_SC_PAGESIZE);
    auto* mem = static_cast<char*>(
        mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(mem != MAP_FAILED);
    REQUIRE(mprotect(mem + page, page, PROT_NONE) == 0);
    auto* one = reinterpret_cast<iommu_iova_range*>(mem + page - sizeof(iommu_iova_range));
    iommu_ioas_iova_ranges q{sizeof(q), alloc.out_ioas_id, 4, 0, reinterpret_cast<uint64_t>(one),
                             0};
    auto r = s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, &q, visible);
    CHECK(r.result == 0);
    CHECK(q.num_iovas == 1);
    CHECK(one->last == ~0ull);
    munmap(mem, 2 * page);
}

TEST_CASE("a range array over its own struct ends up as on the direct path", "[cuse]") {
    // The kernel writes the ranges, then the struct over part of them.
    auto run = [](bool visible) {
        Served s(true);
        uint64_t fh = s.open();
        iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
        REQUIRE(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, visible).result == 0);
        alignas(8) unsigned char buf[96];
        std::memset(buf, 0x5a, sizeof(buf));
        iommu_ioas_iova_ranges q{sizeof(q), 1, 4, 0, reinterpret_cast<uint64_t>(buf), 0};
        std::memcpy(buf + 16, &q, sizeof(q));
        int rc = s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, buf + 16, visible).result;
        CHECK(rc == 0);
        return std::vector<unsigned char>(buf, buf + sizeof(buf));
    };
    std::vector<unsigned char> direct = run(true), retry = run(false);
    CHECK(direct == retry);
}

TEST_CASE("bad pointers are EFAULT on both paths", "[cuse]") {
    bool visible = GENERATE(true, false);
    Served s(true);
    uint64_t fh = s.open();
    auto* bad = reinterpret_cast<void*>(0x10);
    CHECK(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, bad, visible).result == -EFAULT);
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    REQUIRE(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, visible).result == 0);
    iommu_ioas_iova_ranges q{sizeof(q), 1, 4, 0, 0x10, 0};
    CHECK(s.harness.ioctl(fh, IOMMU_IOAS_IOVA_RANGES, &q, visible).result == -EFAULT);
}

TEST_CASE("unknown commands are ENOTTY in one round trip", "[cuse]") {
    bool visible = GENERATE(true, false);
    Served s(true);
    uint64_t fh = s.open();
    int dummy = 0;
    auto r = s.harness.ioctl(fh, _IO('x', 1), &dummy, visible);
    CHECK(r.result == -ENOTTY);
    CHECK(r.rounds == 1);
    // In iommufd's number range the kernel reads the size first.
    r = s.harness.ioctl(fh, _IOW(IOMMUFD_TYPE, 0x80, uint64_t), &dummy, visible);
    CHECK(r.result == -ENOTTY);
    CHECK(r.rounds == (visible ? 1u : 2u));
}

TEST_CASE("each open is its own context and release destroys it", "[cuse]") {
    Served s(true);
    uint64_t a = s.open(), b = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    REQUIRE(s.harness.ioctl(a, IOMMU_IOAS_ALLOC, &alloc).result == 0);
    REQUIRE(s.harness.ioctl(a, IOMMU_IOAS_ALLOC, &alloc).result == 0);
    CHECK(alloc.out_ioas_id == 2);
    REQUIRE(s.harness.ioctl(b, IOMMU_IOAS_ALLOC, &alloc).result == 0);
    CHECK(alloc.out_ioas_id == 1);
    iommu_destroy d{sizeof(d), 2};
    CHECK(s.harness.ioctl(b, IOMMU_DESTROY, &d).result == -ENOENT);
    CHECK(s.handler.open_files() == 2);
    REQUIRE(s.harness.release(a) == 0);
    CHECK(s.handler.open_files() == 1);
    uint64_t c = s.open();
    REQUIRE(s.harness.ioctl(c, IOMMU_IOAS_ALLOC, &alloc).result == 0);
    CHECK(alloc.out_ioas_id == 1);
}

TEST_CASE("read and write are EINVAL as on the kernel's iommufd", "[cuse]") {
    Served s(true);
    uint64_t fh = s.open();
    CHECK(s.harness.read(fh, 16) == -EINVAL);
}

TEST_CASE("busy polling serves requests that come soon and late, on both paths", "[cuse]") {
    // One worker, and a window far longer than the harness needs to send
    // its next request: each request after the first is read while polling.
    const bool direct = GENERATE(true, false);
    Served s(direct, std::chrono::milliseconds(200), 1);
    CHECK((::fcntl(s.node->fd(), F_GETFL) & O_NONBLOCK) != 0);
    uint64_t fh = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    REQUIRE(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, direct).result == 0);
    // Back to back: the next request comes while a worker still reads.
    iommu_option get{sizeof(get), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
                     0,           alloc.out_ioas_id,       0};
    for (int i = 0; i < 20; ++i) {
        get.val64 = 7;
        auto r = s.harness.ioctl(fh, IOMMU_OPTION, &get, direct);
        REQUIRE(r.result == 0);
        CHECK(r.rounds == (direct ? 1u : 3u));
        CHECK(get.val64 == 1);
    }
    CHECK(s.node->caught_polling() >= 20);
    // Long after the window: the worker sleeps in poll(), and wakes.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const uint64_t caught = s.node->caught_polling();
    get.val64 = 7;
    CHECK(s.harness.ioctl(fh, IOMMU_OPTION, &get, direct).result == 0);
    CHECK(get.val64 == 1);
    // Only a retry's later rounds, which follow their first closely.
    CHECK(s.node->caught_polling() - caught <= (direct ? 0u : 2u));
    // ~Served: the loop's stop wakes workers out of poll() as out of read().
}

TEST_CASE("without busy polling the node's fd blocks and nothing polls", "[cuse]") {
    Served s(true);
    CHECK((::fcntl(s.node->fd(), F_GETFL) & O_NONBLOCK) == 0);
    uint64_t fh = s.open();
    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    for (int i = 0; i < 5; ++i) REQUIRE(s.harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc).result == 0);
    CHECK(s.node->caught_polling() == 0);
}

TEST_CASE("a hang-up ends the session and the loop reports it", "[cuse]") {
    Served s(true);
    s.harness.hang_up();
    for (int i = 0; i < 200 && !s.exits; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(s.exits == 1);
}

// ---- the argument bytes the trace decodes ----
#include <mutex>

#include "cuse/arg_capture.h"
#include "dispatch/trace_fields.h"
#include "unit/fake_memory.h"

namespace {

// /dev/ioasid's handler, asking the transport for the argument bytes.
class Capturing final : public cuse::NodeHandler {
  public:
    int open(const dispatch::Caller& c, uint64_t& fh) override { return inner.open(c, fh); }
    void release(uint64_t fh) override { inner.release(fh); }
    int ioctl(uint64_t fh, uint32_t cmd, uint64_t arg, dispatch::UserMemory& mem,
              dispatch::Caller& c) override {
        return inner.ioctl(fh, cmd, arg, mem, c);
    }
    dispatch::Footprint footprint(uint64_t fh, uint32_t cmd, uint64_t arg,
                                  dispatch::UserMemory& known) override {
        return inner.footprint(fh, cmd, arg, known);
    }
    bool wants_arguments() const override { return true; }
    void completed(const cuse::IoctlRecord& rec) override {
        std::lock_guard lock(mutex);
        records.push_back(rec);
    }
    // The transport reports after it replied: wait for the n-th report.
    cuse::IoctlRecord nth(size_t n) {
        for (int i = 0; i < 400; ++i) {
            {
                std::lock_guard lock(mutex);
                if (records.size() >= n) return records[n - 1];
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        FAIL("no report of ioctl " << n);
        return {};
    }

    IommufdHandler inner;
    std::mutex mutex;
    std::vector<cuse::IoctlRecord> records;
};

std::string decoded(const cuse::IoctlRecord& rec) {
    std::string s;
    for (const auto& f : dispatch::decode_arguments(dispatch::NodeKind::Iommufd, rec.cmd,
                                                    rec.before, rec.after, rec.result >= 0))
        s += std::string(f.output ? "out." : "") + f.name + "=" + std::to_string(f.value) + " ";
    return s;
}

}  // namespace

TEST_CASE("the transport hands the argument's bytes to a handler that wants them", "[cuse]") {
    // The direct path, and the retry protocol with a visible and a hidden pid.
    bool direct = GENERATE(true, false);
    bool visible = GENERATE(true, false);
    test::KernelHarness harness;
    Capturing handler;
    cuse::NodeConfig cfg;
    cfg.devname = "ioasid";
    cfg.direct_memory = direct;
    cfg.make_caller = host::make_caller;
    std::string err;
    auto node = cuse::CuseNode::create(cfg, handler, harness.take_daemon_fd(), err);
    REQUIRE(node);
    cuse::Loop loop;
    REQUIRE(loop.add(*node) == 0);
    loop.start(1);
    test::KernelHarness::InitReply init;
    REQUIRE(harness.init(init) == 0);
    uint64_t fh = 0;
    REQUIRE(harness.open(fh) == 0);

    iommu_ioas_alloc alloc{sizeof(alloc), 0, 0};
    REQUIRE(harness.ioctl(fh, IOMMU_IOAS_ALLOC, &alloc, visible).result == 0);
    CHECK(decoded(handler.nth(1)) == "flags=0 out.out_ioas_id=1 ");
    static char buffer[0x3000];
    iommu_ioas_map map{sizeof(map),
                       IOMMU_IOAS_MAP_READABLE,
                       1,
                       0,
                       reinterpret_cast<uint64_t>(buffer),
                       sizeof(buffer),
                       0};
    REQUIRE(harness.ioctl(fh, IOMMU_IOAS_MAP, &map, visible).result == 0);
    CHECK(decoded(handler.nth(2)) ==
          "flags=4 ioas_id=1 user_va=" + std::to_string(map.user_va) +
              " length=12288 iova=0 out.iova=" + std::to_string(map.iova) + " ");
    iommu_ioas_unmap unmap{sizeof(unmap), 7, 0, 0x1000};
    CHECK(harness.ioctl(fh, IOMMU_IOAS_UNMAP, &unmap, visible).result == -ENOENT);
    CHECK(decoded(handler.nth(3)) == "ioas_id=7 iova=0 length=4096 ");

    harness.hang_up();
    loop.stop();
    loop.join();
}

TEST_CASE("ArgCapture keeps only the bytes inside the argument's window", "[cuse]") {
    test::FakeMemory mem;
    uint8_t block[0x200];
    for (size_t i = 0; i < sizeof(block); ++i) block[i] = static_cast<uint8_t>(i);
    const uint64_t base = mem.put_bytes(block, sizeof(block));
    const uint64_t arg = base + 0x10;
    cuse::ArgCapture cap(mem, arg);
    uint8_t got[0x200];
    REQUIRE(cap.read(base, got, 0x20) == 0);  // starts before the argument
    CHECK(cap.before() == std::vector<uint8_t>(block + 0x10, block + 0x20));
    REQUIRE(cap.read(arg + 0x10, got, 0x1e0) == 0);  // runs past the window
    CHECK(cap.before().size() == cuse::ArgCapture::kWindow);
    const uint8_t one = 0xee;
    REQUIRE(cap.write(arg + 2, &one, 1) == 0);
    auto after = cap.after();
    CHECK(after[2] == 0xee);
    CHECK(after[3] == block[0x13]);
    CHECK(cap.read(base + 0x10000, got, 4) == -EFAULT);  // nothing kept from a fault
}

// ---- what pinning would find in a caller's memory ----

TEST_CASE("pinnable: mapped, readable, writable where asked, along the whole range", "[cuse]") {
    const size_t page = 4096;
    auto* p = static_cast<uint8_t*>(
        mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(p != MAP_FAILED);
    const auto at = [&](size_t i) { return reinterpret_cast<uint64_t>(p + i * page); };
    const pid_t self = getpid();
    CHECK(host::pinnable(self, at(0), 4 * page, true) == 0);
    REQUIRE(mprotect(p + 3 * page, page, PROT_READ) == 0);
    CHECK(host::pinnable(self, at(0), 4 * page, false) == 0);
    CHECK(host::pinnable(self, at(0), 4 * page, true) == -EFAULT);
    REQUIRE(mprotect(p + 2 * page, page, PROT_NONE) == 0);
    CHECK(host::pinnable(self, at(0), 4 * page, false) == -EFAULT);
    CHECK(host::pinnable(self, at(0), 2 * page, true) == 0);
    REQUIRE(munmap(p + page, page) == 0);
    CHECK(host::pinnable(self, at(0), 2 * page, false) == -EFAULT);
    CHECK(host::pinnable(self, at(0), page, true) == 0);
    munmap(p, 4 * page);
}

TEST_CASE("contiguous: page frames from /proc/self/pagemap", "[cuse]") {
    // Page frames need CAP_SYS_ADMIN; without them nothing is contiguous.
    const size_t page = 4096;
    auto* p = static_cast<uint8_t*>(
        mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(p != MAP_FAILED);
    const auto va = reinterpret_cast<uint64_t>(p);
    CHECK_FALSE(host::contiguous(getpid(), va, page));  // not present yet
    p[0] = 1;
    const bool frames = host::contiguous(getpid(), va, page);  // one page: contiguous, 4K-aligned
    CHECK(frames == host::has_capability(getpid(), 21));       // CAP_SYS_ADMIN
    CHECK_FALSE(host::contiguous(getpid(), va + 1, page));     // unaligned arguments
    munmap(p, 2 * page);
}

// ---- the processes areas name, after they exit ----
#include <signal.h>
#include <sys/wait.h>

TEST_CASE("a source process is known by its pidfd, not by its pid", "[cuse]") {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    dispatch::Caller caller;
    caller.tgid = [&] { return static_cast<uint32_t>(child); };
    caller.watch = [](uint32_t tgid) { return host::watch_process(static_cast<pid_t>(tgid)); };
    model::Context ctx;
    const uint32_t source = dispatch::caller_source(ctx, caller);
    CHECK(source != 0);
    CHECK(dispatch::caller_source(ctx, caller) == source);  // recorded once
    CHECK(ctx.source_pid(source) == static_cast<uint32_t>(child));

    const auto open_fds = [] {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
            ++n;
        return n;
    };
    REQUIRE(kill(child, SIGKILL) == 0);
    REQUIRE(waitpid(child, nullptr, 0) == child);
    const size_t holding = open_fds();  // the child's pidfd among them
    // The pid may name another process now: the source never gives it again,
    // and a caller with that pid is another source.
    CHECK(ctx.source_pid(source) == 0);
    CHECK(ctx.find_source(static_cast<uint32_t>(child)) == 0);
    const uint32_t next = dispatch::caller_source(ctx, caller);
    CHECK(next != source);
    CHECK(ctx.source_pid(next) == 0);  // no such process to watch: not reached either
    // A new source lets go of the pidfds of those whose process exited:
    // processes coming and going leave no descriptors behind.
    CHECK(open_fds() == holding - 1);

    const uint32_t self = dispatch::caller_source(ctx, [] {
        dispatch::Caller c;
        c.tgid = [] { return static_cast<uint32_t>(getpid()); };
        c.watch = [](uint32_t tgid) { return host::watch_process(static_cast<pid_t>(tgid)); };
        return c;
    }());
    CHECK(ctx.source_pid(self) == static_cast<uint32_t>(getpid()));
    CHECK(ctx.source_pid(source) == 0);
}

#include <sched.h>

#include <fstream>

TEST_CASE("capabilities count only in the daemon's user namespace", "[cuse]") {
    constexpr int kCapIpcLock = 14;
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // All capabilities, in a namespace of its own: none over ours.
        const char ok = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    char ok = 0;
    REQUIRE(read(ready[0], &ok, 1) == 1);
    const pid_t self = getpid();
    if (ok == 'y') CHECK_FALSE(host::has_capability(child, kCapIpcLock));
    // capget's answer for us is what /proc says of us.
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t eff = 0;
    while (std::getline(status, line))
        if (line.rfind("CapEff:", 0) == 0) eff = std::stoull(line.substr(7), nullptr, 16);
    for (int cap : {kCapIpcLock, 21 /* CAP_SYS_ADMIN */, 6 /* CAP_SETGID */})
        CHECK(host::has_capability(self, cap) == bool(eff >> cap & 1));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    if (ok != 'y')
        WARN("unshare(CLONE_NEWUSER) is not allowed here: the namespace case is untested");
}

TEST_CASE("a process's locked memory and start time, for per-process accounting", "[cuse]") {
    const pid_t self = getpid();
    const uint64_t before = host::locked_memory(self);
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page != MAP_FAILED);
    if (mlock(page, 4096) == 0) {
        CHECK(host::locked_memory(self) == before + 4096);
        munlock(page, 4096);
    } else {
        WARN("mlock of one page is refused here: VmLck is untested");
    }
    munmap(page, 4096);
    // A child started after us, and gone once reaped: its pid may come back
    // as another process, which the start time tells apart.
    const uint64_t ours = host::start_time(self);
    CHECK(ours > 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK(host::start_time(child) >= ours);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    CHECK(host::start_time(child) == 0);
    CHECK(host::locked_memory(child) == 0);
}
