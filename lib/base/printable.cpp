// SPDX-License-Identifier: Apache-2.0
// Escaping of user-given bytes quoted in messages.
#include "base/printable.hpp"

#include <fmt/format.h>

namespace buttervolume {

std::string printable(std::string_view text, std::size_t max)
{
    std::string shown;
    for (unsigned char c : text.substr(0, max)) {
        if (c < 0x20 || c >= 0x7f || c == '\\')
            shown += fmt::format("\\x{:02x}", c);
        else
            shown += static_cast<char>(c);
    }
    if (text.size() > max)
        shown += "...";
    return shown;
}

} // namespace buttervolume
