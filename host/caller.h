// Who is calling: what /proc says about the thread behind a request, and
// about the processes whose memory the daemon reaches. The daemon hands
// make_caller to the transport, which knows nothing of /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dispatch/user_memory.h"
#include "model/context.h"

namespace ioasid::host {

// The caller as the model sees it; capability and process lookups are lazy.
dispatch::Caller make_caller(pid_t tid, uid_t uid, gid_t gid);

// The thread group (process) of a thread, or 0 if it is gone.
uint32_t tgid_of(pid_t tid);

// Process `tgid`, watched for its exit through a pidfd; one that cannot be
// watched (no such process) answers not alive.
std::shared_ptr<const model::SourceProcess> watch_process(pid_t tgid);

// The process's real uid, whose locked memory the kernel counts; -1 when it
// is gone.
int64_t real_uid(pid_t pid);

// What the process's mm has locked (VmLck: mlock, and pins charged to it
// by VFIO type1 or iommufd's per-process accounting), in bytes; 0 when it
// cannot be read.
uint64_t locked_memory(pid_t pid);

// When the process started (clock ticks after boot), which tells it from a
// later process given the same pid; 0 when it is gone.
uint64_t start_time(pid_t pid);

// Its RLIMIT_MEMLOCK (soft) in bytes, UINT64_MAX when unlimited; 0 when it
// cannot be read.
uint64_t memlock_limit(pid_t pid);

// Whether the thread holds `cap` in its effective set, in our user namespace:
// the kernel's capable() asks about the initial namespace, and a process in
// a child namespace has no capability there whatever its CapEff says.
bool has_capability(pid_t tid, int cap);

// Whether the thread may open `path` for reading and writing, by its mode
// and the thread's fsuid, fsgid and groups (generic_permission()), or by
// CAP_DAC_OVERRIDE; false when the path cannot be stat'ed.
bool may_open_rw(pid_t tid, const std::string& path);

// Whether [start, start + len) of the thread's memory is mapped with read
// (and write, if asked) permission all along, as /proc/<tid>/maps says:
// 0 or -EFAULT, 0 when the maps cannot be read.
int pinnable(pid_t tid, uint64_t start, uint64_t len, bool write);

// Whether [va, va + len) of the process is present, physically contiguous,
// and starts at a physical address aligned to len (/proc/<pid>/pagemap;
// false when the page frames cannot be read).
bool contiguous(pid_t pid, uint64_t va, uint64_t len);

}  // namespace ioasid::host
