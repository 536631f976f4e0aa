// Unix sockets that carry files: the daemon's listening sockets (the
// control socket, the VMM channel) and SCM_RIGHTS messages, which the
// preload library sends and takes too (it compiles this file itself).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "host/unique_fd.h"

namespace ioasid::host {

// A listening socket of `type` at `path`, nonblocking and close-on-exec,
// made with no access at all and then opened up to exactly `mode` and
// `group`. A socket left by an earlier run is replaced; one a live server
// answers on is not (-EADDRINUSE). -errno.
int listen_unix(const std::string& path, int type, mode_t mode, gid_t group, UniqueFd& out);

// One message and the `count` fds at `fds` with it. The message's length
// or -errno.
ssize_t send_with_fds(int sock, const void* buf, size_t len, const int* fds, size_t count);
// One message and at most one fd (none when fd < 0).
inline ssize_t send_with_fd(int sock, const void* buf, size_t len, int fd) {
    return send_with_fds(sock, buf, len, &fd, fd >= 0 ? 1 : 0);
}
// One message; the fds that came with it, close-on-exec, are in `fds`
// (at most `max_fds`: the kernel drops any more, and the message still
// counts). The message's length (0: the peer has gone) or -errno.
ssize_t receive_with_fds(int sock, void* buf, size_t len, std::vector<UniqueFd>& fds,
                         size_t max_fds);

}  // namespace ioasid::host
