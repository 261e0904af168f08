// SPDX-License-Identifier: Apache-2.0
// Small text helpers for the library's parsers (options, the schedule file, config.ini).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace buttervolume {

/// s with ASCII letters in lower case.
inline std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

/// s without leading and trailing white space (spaces, tabs, CR, LF).
inline std::string_view trim_space(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

} // namespace buttervolume
