// Why a command was refused. The check that refuses a call names itself
// here, on the calling thread, as libvfio-user logs a reason at each
// rejection; whoever serves the call reads it once the handler returns (the
// daemon logs it at debug level and its trace event carries it). The first
// reason since the call began is kept: the innermost check, which refused
// first, says the most. No I/O: the model and dispatch both use it.
#pragma once

namespace ioasid {

namespace refusal_detail {
inline thread_local const char* reason = nullptr;
}

// Returns `err` (a -errno), noting `why` (a string literal) unless a reason
// was noted already during this call.
inline int refuse(int err, const char* why) {
    if (!refusal_detail::reason) refusal_detail::reason = why;
    return err;
}

// The reason noted since the last clear_refusal(), or null.
inline const char* refusal() {
    return refusal_detail::reason;
}

// A call begins.
inline void clear_refusal() {
    refusal_detail::reason = nullptr;
}

}  // namespace ioasid
