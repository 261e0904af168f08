// SPDX-License-Identifier: Apache-2.0
// Small text helpers for the library's parsers (options, the schedule file, config.ini, state files).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

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

/// The fields of a tab-separated line (one field when it holds no tab), viewing into line.
inline std::vector<std::string_view> split_tabs(std::string_view line)
{
    std::vector<std::string_view> out;
    for (;;) {
        auto tab = line.find('\t');
        out.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos)
            return out;
        line.remove_prefix(tab + 1);
    }
}

} // namespace buttervolume
