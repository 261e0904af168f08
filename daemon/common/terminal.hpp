// SPDX-License-Identifier: Apache-2.0
// Text for people: names made safe to print, aligned tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::common {

/// Escapes control characters and bytes that are not well-formed UTF-8 (as \xNN), so that a
/// name can neither forge output or log lines nor make them undecodable.
std::string printable(std::string_view s);

/// Writes text to stderr with write(2), ignoring failures: an error message that cannot be
/// written (stderr on a full disk, a closed pipe) must not abort the process. Never throws.
void write_stderr(std::string_view text) noexcept;

/// Flushes stdout; false (errno set) when anything written to it was lost.
bool flush_stdout() noexcept;

/// Prints rows as a table on stdout with a header line; columns are padded to their widest cell.
/// A byte count for people: "512 B", "1.5 GiB".
std::string human_bytes(std::uint64_t n);

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

} // namespace buttervolume::common
