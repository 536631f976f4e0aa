// The library's end of the VMM channel (ioasid/ioasidd.h): a request about
// one of ioasidd's device files, answered with a file CUSE could not hand
// over. One short connection per request: they come at a VMM's realize
// (a BAR's mmap, KVM's file), never on a hot path.
#pragma once

#include <cerrno>
#include <cstdint>

#include "host/unique_fd.h"
#include "ioasid/ioasidd.h"

namespace ioasid::preload {

// $IOASIDD_VMM_SOCKET, else IOASIDD_CHANNEL_PATH.
const char* channel_path();

// A request of `op` with its size set and every other field 0.
inline ioasidd_channel_request channel_request(uint32_t op) {
    ioasidd_channel_request req{};
    req.size = sizeof(req);
    req.op = op;
    return req;
}

// Whether channel_ask's answer says no daemon listens on the channel.
inline bool channel_unreachable(int rc) {
    return rc == -ENOENT || rc == -ECONNREFUSED;
}

// Sends `req` with device file `fd`: the daemon's result (0 or -errno),
// with `reply` and, where it sent one, `out` filled; -ECONNREFUSED (or
// another connect errno) when no daemon listens.
int channel_ask(int fd, const ioasidd_channel_request& req, ioasidd_channel_reply& reply,
                host::UniqueFd& out);

}  // namespace ioasid::preload
