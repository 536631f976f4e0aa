// ioctl tracing for the control socket: while on, every completed ioctl of
// every node becomes an IOCTL event (node, thread, command, its decoded
// arguments and outputs, result, round trips, path, duration).
#pragma once

#include <atomic>
#include <string>

#include "cuse/node.h"
#include "dispatch/trace_fields.h"

namespace ioasid::daemon {

class ControlServer;

class Trace {
  public:
    explicit Trace(ControlServer* control) : control_(control) {}
    void set(bool on) { on_ = on; }
    bool on() const { return on_; }
    // `name` is the command's name, or nullptr for one the node does not serve;
    // `why`, for a refused call, the check that refused it (model/refusal.h).
    void record(const std::string& node, dispatch::NodeKind kind, const char* name,
                const cuse::IoctlRecord& rec, const char* why = nullptr);

  private:
    ControlServer* const control_;
    std::atomic<bool> on_{false};
};

}  // namespace ioasid::daemon
