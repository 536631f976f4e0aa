// Who is calling: what /proc says about the thread behind a CUSE request.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "dispatch/user_memory.h"

namespace ioasid::cuse {

// The caller as the model sees it; capability and process lookups are lazy.
dispatch::Caller make_caller(pid_t tid, uid_t uid, gid_t gid);

// The thread group (process) of a thread, or 0 if it is gone.
uint32_t tgid_of(pid_t tid);

// Whether the thread holds `cap` in its effective set, in our user namespace:
// the kernel's capable() asks about the initial namespace, and a process in
// a child namespace has no capability there whatever its CapEff says.
bool has_capability(pid_t tid, int cap);

}  // namespace ioasid::cuse
