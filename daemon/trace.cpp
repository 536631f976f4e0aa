#include "daemon/trace.h"

#include <cstdio>
#include <cstring>

#include "daemon/control.h"
#include "dispatch/trace_fields.h"

namespace ioasid::daemon {
namespace {

nlohmann::json field_value(const dispatch::DecodedField& f) {
    switch (f.format) {
        case dispatch::FieldFormat::Hex: {
            char hex[24];
            std::snprintf(hex, sizeof(hex), "0x%llx", static_cast<unsigned long long>(f.value));
            return hex;
        }
        case dispatch::FieldFormat::Signed:
            return static_cast<int64_t>(f.value);
        case dispatch::FieldFormat::Dec:
            break;
    }
    return f.value;
}

// "args": the fields the caller passed; "out": those the command filled in.
void add_arguments(nlohmann::json& ev, dispatch::NodeKind kind, const cuse::IoctlRecord& rec) {
    nlohmann::json args = nlohmann::json::object(), out = nlohmann::json::object();
    for (const auto& f :
         dispatch::decode_arguments(kind, rec.cmd, rec.before, rec.after, rec.result >= 0))
        (f.output ? out : args)[f.name] = field_value(f);
    ev["args"] = std::move(args);
    if (!out.empty()) ev["out"] = std::move(out);
}

}  // namespace

void Trace::record(const std::string& node, dispatch::NodeKind kind, const char* name,
                   const cuse::IoctlRecord& rec, const char* why) {
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
    add_arguments(ev, kind, rec);
    if (rec.result < 0) {
        const char* e = strerrorname_np(-rec.result);
        ev["errno"] = e ? e : "E?";
        if (why) ev["why"] = why;
    }
    control_->emit("IOCTL", ev);
}

}  // namespace ioasid::daemon
