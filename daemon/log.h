// Logging to stderr; under systemd each line carries its journald priority.
#pragma once

#include <cstdarg>
#include <string>

namespace ioasid::log {

enum class Level { Error = 3, Warning = 4, Info = 6, Debug = 7 };

// "error", "warning", "info", "debug"; false if the name is unknown.
bool parse_level(const std::string& name, Level& out);
void set_level(Level level);
Level level();
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ioasid::log

#define IOASID_LOG(lvl, ...)                                                     \
    do {                                                                         \
        if (::ioasid::log::enabled(lvl)) ::ioasid::log::write(lvl, __VA_ARGS__); \
    } while (0)
#define LOG_ERROR(...) IOASID_LOG(::ioasid::log::Level::Error, __VA_ARGS__)
#define LOG_WARN(...) IOASID_LOG(::ioasid::log::Level::Warning, __VA_ARGS__)
#define LOG_INFO(...) IOASID_LOG(::ioasid::log::Level::Info, __VA_ARGS__)
#define LOG_DEBUG(...) IOASID_LOG(::ioasid::log::Level::Debug, __VA_ARGS__)
