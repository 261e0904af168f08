// SPDX-License-Identifier: Apache-2.0
// The daemon's log: one line per event on stderr, filtered by level (--log-level).
#pragma once

#include <string>
#include <string_view>

namespace buttervolume::common {

enum class LogLevel { Debug, Info, Warn, Error };

/// "debug", "info", "warn" (or "warning"), "error", any case. Throws InvalidArgument listing them.
LogLevel parse_log_level(std::string_view text);

/// Lines below level are dropped from now on (the default is Info).
void set_log_level(LogLevel level);

/// True when a line at level would be written: check it before building an expensive line.
bool log_enabled(LogLevel level);

/// Writes "<RFC 3339 UTC time with ms> <level> <text>\n" to stderr in one write(2), so lines of
/// parallel requests never interleave.
void log_line(LogLevel level, std::string_view text);

} // namespace buttervolume::common
