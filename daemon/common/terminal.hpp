// SPDX-License-Identifier: Apache-2.0
// Text for people: names made safe to print, aligned tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::common {

/// Escapes control characters (as \xNN) so that a name cannot forge output or log lines.
std::string printable(std::string_view s);

/// Prints rows as a table on stdout with a header line; columns are padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

} // namespace buttervolume::common
