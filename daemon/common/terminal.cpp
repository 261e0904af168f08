// SPDX-License-Identifier: Apache-2.0
// Escaping control characters and printing aligned tables.
#include "common/terminal.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace buttervolume::common {

std::string printable(std::string_view s)
{
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    return out;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows)
{
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows)
            width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c + 1 == cells.size())
                out += cells[c];
            else
                out += fmt::format("{:<{}}  ", cells[c], width[c]);
        }
        fmt::print("{}\n", out);
    };
    line(header);
    for (const auto& r : rows)
        line(r);
}

} // namespace buttervolume::common
