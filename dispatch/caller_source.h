// The caller's process as the model knows it: the source of the areas it
// maps, recorded once per context.
#pragma once

#include <cstdint>

#include "dispatch/user_memory.h"
#include "model/context.h"

namespace ioasid::dispatch {

// The caller's process as the source of the areas it maps.
inline uint32_t caller_source(model::Context& ctx, const Caller& caller) {
    const uint32_t tgid = caller.tgid();
    if (uint32_t s = ctx.find_source(tgid)) return s;
    return ctx.add_source(tgid, caller.watch(tgid));
}

}  // namespace ioasid::dispatch
