#include "daemon/trace.h"

#include <cstdio>
#include <cstring>

#include "daemon/control.h"

namespace ioasid {

void Trace::record(const std::string& node, const char* name, const cuse::IoctlRecord& rec) {
    if (!on_ || !control_) return;
    char cmd[16], arg[24];
    std::snprintf(cmd, sizeof(cmd), "0x%x", rec.cmd);
    std::snprintf(arg, sizeof(arg), "0x%llx", static_cast<unsigned long long>(rec.arg));
    nlohmann::json ev = {{"node", node},
                         {"tid", rec.tid},
                         {"command", name ? name : "unknown"},
                         {"cmd", cmd},
                         {"arg", arg},
                         {"result", rec.result},
                         {"round_trips", rec.round_trips},
                         {"path", rec.direct ? "direct" : "retry"},
                         {"duration_us", static_cast<double>(rec.duration.count()) / 1000.0}};
    if (rec.result < 0) {
        const char* e = strerrorname_np(-rec.result);
        ev["errno"] = e ? e : "E?";
    }
    control_->emit("IOCTL", ev);
}

}  // namespace ioasid
