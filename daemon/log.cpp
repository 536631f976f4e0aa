#include "daemon/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace ioasid::log {

namespace {
std::atomic<Level> g_level{Level::Info};
// journald reads "<N>" prefixes on stderr when it owns the stream.
const bool g_journal = std::getenv("JOURNAL_STREAM") != nullptr;
}  // namespace

bool parse_level(const std::string& name, Level& out) {
    if (name == "error")
        out = Level::Error;
    else if (name == "warning")
        out = Level::Warning;
    else if (name == "info")
        out = Level::Info;
    else if (name == "debug")
        out = Level::Debug;
    else
        return false;
    return true;
}

void set_level(Level level) {
    g_level = level;
}
Level level() {
    return g_level;
}
bool enabled(Level level) {
    return static_cast<int>(level) <= static_cast<int>(g_level.load());
}

void write(Level level, const char* fmt, ...) {
    char line[1024];
    int off = 0;
    if (g_journal) {
        off = std::snprintf(line, sizeof(line), "<%d>", static_cast<int>(level));
    } else {
        static const char* names[] = {"", "", "", "error: ", "warning: ", "", "", ""};
        off = std::snprintf(line, sizeof(line), "ioasidd: %s", names[static_cast<int>(level)]);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
    va_end(ap);
    size_t len = static_cast<size_t>(off) + std::min<size_t>(n < 0 ? 0 : n, sizeof(line) - off - 2);
    line[len++] = '\n';
    // One write per line keeps lines from different threads whole.
    [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, line, len);
}

}  // namespace ioasid::log
