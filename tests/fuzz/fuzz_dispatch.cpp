// libFuzzer target over decode + dispatch, differential between the two ways
// the transport reaches a caller's memory.
//
// Each input is a sequence of ioctls against two contexts: one served with
// direct access to the caller's memory, one through the ioctl retry protocol
// (footprint replay, RegionMemory, out data copied back). Both must give the
// same result and leave the caller's memory byte for byte the same; that
// also proves each footprint covers every byte its handler touches.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dispatch/iommufd.h"
#include "dispatch/iommufd_selftest.h"
#include "fuzz/retry_replay.h"
#include "ioasid/iommufd.h"
#include "ioasid/iommufd_test.h"
#include "ioasid/vfio.h"
#include "model/topology.h"
#include "unit/fake_memory.h"

namespace {

using namespace ioasid;

using test::kArrayAt;
using test::kArrayLen;
using test::kStructAt;
using test::kStructLen;

// The caller's memory: a struct page and an array page, faults elsewhere.
struct Memory : test::FakeMemory {
    Memory() {
        map_at(kStructAt, kStructLen);
        map_at(kArrayAt, kArrayLen);
    }
    std::vector<uint8_t>& s() { return region(kStructAt); }
    std::vector<uint8_t>& a() { return region(kArrayAt); }
};

bool via_retry(model::Context& ctx, uint32_t cmd, uint64_t arg, Memory& mem,
               dispatch::Caller& caller, int& rc) {
    return test::replay_retry(
        [&](dispatch::UserMemory& known) {
            return dispatch::iommufd_footprint(ctx, cmd, arg, known);
        },
        [&](dispatch::UserMemory& run) {
            return dispatch::iommufd_ioctl(ctx, cmd, arg, run, caller);
        },
        mem, rc);
}

// The one documented way the retry fallback answers differently: the kernel
// copies ALLOW_IOVAS's ranges one at a time and fails on the first invalid
// one, while the CUSE kernel must copy the whole array num_iovas claims
// before ioasidd sees any of it, so a buffer shorter than claimed is EFAULT
// even when a range before its end was invalid.
bool retry_limit(uint32_t cmd, uint64_t arg, Memory& mem, int rc_retry) {
    if (cmd != IOMMU_IOAS_ALLOW_IOVAS || rc_retry != -EFAULT) return false;
    iommu_ioas_allow_iovas a{};
    if (mem.read(arg, &a, sizeof(a))) return false;
    std::vector<uint8_t> all(uint64_t{a.num_iovas} * sizeof(iommu_iova_range));
    return mem.read(a.allowed_iovas, all.data(), all.size()) != 0;
}

// The test command and VFIO compatibility come twice: their paths are long.
const uint32_t kCommands[] = {IOMMU_DESTROY,
                              IOMMU_IOAS_ALLOC,
                              IOMMU_IOAS_ALLOW_IOVAS,
                              IOMMU_IOAS_COPY,
                              IOMMU_IOAS_IOVA_RANGES,
                              IOMMU_IOAS_MAP,
                              IOMMU_IOAS_UNMAP,
                              IOMMU_OPTION,
                              IOMMU_VFIO_IOAS,
                              IOMMU_HWPT_ALLOC,
                              IOMMU_HWPT_SET_DIRTY_TRACKING,
                              IOMMU_HWPT_GET_DIRTY_BITMAP,
                              IOMMU_HWPT_INVALIDATE,
                              IOMMU_TEST_CMD,
                              IOMMU_TEST_CMD,
                              VFIO_IOMMU_MAP_DMA,
                              VFIO_IOMMU_UNMAP_DMA,
                              VFIO_IOMMU_GET_INFO,
                              VFIO_IOMMU_MAP_DMA,
                              _IOW(';', 0x85, int),
                              _IO('x', 0x81)};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // With test ops, as a kernel with CONFIG_IOMMUFD_TEST: mock devices,
    // their domains and dirty tracking are in reach.
    model::SharedTopology direct_topo, retry_topo;
    model::Context direct_ctx, retry_ctx;
    direct_ctx.set_topology(&direct_topo);
    retry_ctx.set_topology(&retry_topo);
    direct_ctx.enable_test_ops();
    retry_ctx.enable_test_ops();
    Memory direct_mem, retry_mem;
    dispatch::Caller caller;
    caller.capable = [](int) { return true; };
    caller.tgid = [] { return 42u; };

    // The input's tail seeds the array region; the rest is records of
    // selector, length, then that many bytes of struct.
    size_t seed = std::min<size_t>(size / 4, kArrayLen);
    std::memcpy(direct_mem.a().data(), data + size - seed, seed);
    retry_mem.a() = direct_mem.a();
    size -= seed;
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t sel = data[pos], len = data[pos + 1];
        pos += 2;
        size_t n = std::min<size_t>(len, size - pos);
        std::memset(direct_mem.s().data(), 0, kStructLen);
        std::memcpy(direct_mem.s().data(), data + pos, std::min(n, kStructLen));
        pos += n;
        if (sel & 0x80) {  // point the struct's array field at the array region
            uint64_t a = kArrayAt + (sel & 0x40 ? 8 : 0);
            std::memcpy(direct_mem.s().data() + 16, &a, sizeof(a));
        }
        if (sel & 0x20) {  // a plausible size field most of the time
            uint32_t sz = 8 + 4 * (sel & 0x0f);
            std::memcpy(direct_mem.s().data(), &sz, sizeof(sz));
        }
        retry_mem.s() = direct_mem.s();
        uint32_t cmd = kCommands[sel % (sizeof(kCommands) / sizeof(kCommands[0]))];
        uint64_t arg = (sel & 0x10) ? kStructAt + 200 : kStructAt;

        int rc_direct = dispatch::iommufd_ioctl(direct_ctx, cmd, arg, direct_mem, caller);
        int rc_retry = -EFAULT;
        // When the kernel's own copy-in faults the daemon never sees the call;
        // the direct read must have faulted the same way.
        via_retry(retry_ctx, cmd, arg, retry_mem, caller, rc_retry);
        if (rc_retry == -ENOMEM) {
            // Beyond what one CUSE retry carries (the documented limit of the
            // fallback); the contexts part ways, so stop comparing here.
            return 0;
        }
        if (rc_direct != rc_retry && !retry_limit(cmd, arg, direct_mem, rc_retry)) {
            std::fprintf(stderr, "divergence: cmd %#x arg %#lx direct %d retry %d, struct:", cmd,
                         static_cast<unsigned long>(arg), rc_direct, rc_retry);
            for (size_t i = arg - kStructAt; i < arg - kStructAt + 40 && i < kStructLen; ++i)
                std::fprintf(stderr, " %02x", direct_mem.s()[i]);
            std::fprintf(stderr, "\n");
            abort();
        }
        // Which bytes land before a fault is not part of the ABI: compare
        // the caller's memory only when the call did not fault.
        if (rc_direct == -EFAULT)
            retry_mem = direct_mem;
        else if (!(direct_mem == retry_mem))
            abort();
    }
    if (direct_ctx.objects().size() != retry_ctx.objects().size()) abort();
    dispatch::release_test_objects(direct_ctx);
    dispatch::release_test_objects(retry_ctx);
    return 0;
}
