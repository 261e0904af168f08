// SPDX-License-Identifier: Apache-2.0
// Level-filtered log lines on stderr, written whole with one system call.
#include "common/log.hpp"

#include <buttervolume/error.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>

namespace buttervolume::common {

namespace {
std::atomic<LogLevel> current_level{LogLevel::Info};

std::string_view level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    }
    return "?";
}
} // namespace

LogLevel parse_log_level(std::string_view text)
{
    std::string t(text);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "debug")
        return LogLevel::Debug;
    if (t == "info")
        return LogLevel::Info;
    if (t == "warn" || t == "warning")
        return LogLevel::Warn;
    if (t == "error")
        return LogLevel::Error;
    throw InvalidArgument(fmt::format("invalid log level '{}': valid levels are debug, info, warn, error", text));
}

void set_log_level(LogLevel level)
{
    current_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level)
{
    return level >= current_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view text)
{
    if (!log_enabled(level))
        return;
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    // fmt 9 formats a time_point in local time; the log is in UTC, like the Docker daemon's.
    std::string line = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z {} {}\n",
                                   fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms, level_name(level), text);
    // One write per line: stderr is shared by every request thread. A failed write has
    // nowhere to be reported, so it is dropped.
    std::string_view rest = line;
    while (!rest.empty()) {
        ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace buttervolume::common
