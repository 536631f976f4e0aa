// The kernel's fs/fuse/ioctl.c with cuse/node.cpp's use of the retry plan,
// minus the socket: what a command does when the daemon reaches the
// caller's memory only through the ioctl retry protocol. Shared by the
// fuzz targets, which compare it with direct access.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <vector>

#include "cuse/region_memory.h"
#include "cuse/retry_plan.h"
#include "unit/fake_memory.h"

namespace ioasid::test {

// The caller's memory every fuzz target lays out: the command's struct, and
// a page for the arrays and data it points at.
constexpr uint64_t kStructAt = 0x10000;
constexpr uint64_t kArrayAt = 0x20000;
constexpr size_t kStructLen = 256;
constexpr size_t kArrayLen = 4096;

using FootprintFn = std::function<dispatch::Footprint(dispatch::UserMemory&)>;
using IoctlFn = std::function<int(dispatch::UserMemory&)>;

// False when the kernel's own copy-in faulted (then the daemon never sees
// the command and the caller gets EFAULT). -ENOMEM in `rc`: beyond what one
// retry carries. Aborts on a footprint that lets a command touch memory it
// did not declare, or that never settles.
inline bool replay_retry(const FootprintFn& footprint, const IoctlFn& ioctl, FakeMemory& mem,
                         int& rc) {
    std::vector<uint8_t> in;
    uint64_t out_size = 0;
    for (int round = 0; round < 16; ++round) {
        cuse::RetryPlan plan = cuse::plan_retry(footprint, in.data(), in.size(), out_size);
        if (plan.action == cuse::RetryPlan::Action::Fail) abort();
        if (plan.action == cuse::RetryPlan::Action::Ask) {
            if (!cuse::fits_one_retry(plan.footprint)) {
                rc = -ENOMEM;
                return true;
            }
            in.clear();
            out_size = 0;
            for (auto& r : plan.footprint.in) {
                std::vector<uint8_t> chunk(r.len);
                if (mem.read(r.addr, chunk.data(), r.len)) return false;
                in.insert(in.end(), chunk.begin(), chunk.end());
            }
            for (auto& r : plan.footprint.out) out_size += r.len;
            continue;
        }
        cuse::RegionMemory run(plan.footprint.in, in.data(), in.size(), plan.footprint.out);
        rc = ioctl(run);
        if (run.missed()) abort();  // nothing changes the state between rounds here
        auto out = run.out_data(plan.footprint.out);
        if (!out) abort();  // the command wrote past its footprint
        // The kernel copies the out stream in order and stops at a fault.
        for (size_t i = 0; i < out->size(); ++i)
            if (mem.write(plan.footprint.out[i].addr, (*out)[i].iov_base, (*out)[i].iov_len)) {
                rc = -EFAULT;
                break;
            }
        return true;
    }
    abort();
}

}  // namespace ioasid::test
