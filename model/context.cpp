#include "model/context.h"

#include <algorithm>
#include <cerrno>

#include "model/refusal.h"

namespace ioasid::model {

Ioas* Context::ioas(uint32_t id) const {
    auto* o = objects_.get<IoasObject>(id, ObjectType::Ioas);
    return o ? &o->ioas : nullptr;
}

uint32_t Context::alloc_ioas() {
    auto o = std::make_unique<IoasObject>();
    if (domain_pins_) o->ioas.set_domain_pins(domain_pins_(*this));
    return objects_.add(std::move(o));
}

int Context::destroy(uint32_t id) {
    int rc = objects_.destroy(id);
    if (rc == 0 && vfio_ioas_ == id) vfio_ioas_ = 0;
    return rc;
}

int Context::set_account_mode(uint64_t value, bool privileged) {
    if (!privileged) return refuse(-EPERM, "OPTION RLIMIT_MODE: needs CAP_SYS_RESOURCE");
    if (!objects_.empty()) return refuse(-EBUSY, "OPTION RLIMIT_MODE: the context has objects");
    if (value > 1) return refuse(-EINVAL, "OPTION RLIMIT_MODE: no such mode");
    account_mode_ = value == 0 ? AccountMode::User : AccountMode::Mm;
    return 0;
}

uint32_t Context::find_source(uint32_t tgid) const {
    for (size_t i = 1; i < sources_.size(); i++)
        if (sources_[i].pid == tgid && sources_[i].alive()) return static_cast<uint32_t>(i);
    return 0;
}

namespace {

// What a source whose process has exited keeps: the watch itself (a pidfd
// in the daemon) goes, so that processes coming and going cannot make a
// context hold descriptors without bound.
struct Exited final : SourceProcess {
    bool alive() const override { return false; }
};

}  // namespace

uint32_t Context::add_source(uint32_t tgid, std::shared_ptr<const SourceProcess> process) {
    static const auto exited = std::make_shared<const Exited>();
    for (Source& s : sources_)
        if (s.process && s.process != exited && !s.process->alive()) s.process = exited;
    sources_.push_back({tgid, std::move(process)});
    return static_cast<uint32_t>(sources_.size() - 1);
}

uint32_t Context::source_pid(uint32_t source) const {
    if (source == 0 || source >= sources_.size()) return 0;
    return sources_[source].alive() ? sources_[source].pid : 0;
}

}  // namespace ioasid::model
