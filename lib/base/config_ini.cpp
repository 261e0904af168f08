// SPDX-License-Identifier: Apache-2.0
// The subset of configparser the Python project's config.ini files use.
#include "base/config_ini.hpp"

#include "base/dir.hpp"
#include "base/text.hpp"

#include <string_view>

namespace buttervolume {

std::map<std::string, std::string> parse_config_defaults(const std::string& text)
{
    std::map<std::string, std::string> out;
    std::string section;
    std::string_view rest(text);
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = trim_space(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        if (line.front() == '[' && line.back() == ']') {
            section = std::string(trim_space(line.substr(1, line.size() - 2)));
            continue;
        }
        auto sep = line.find_first_of("=:");
        if (section == "DEFAULT" && sep != std::string_view::npos)
            out[ascii_lower(trim_space(line.substr(0, sep)))] = std::string(trim_space(line.substr(sep + 1)));
    }
    return out;
}

std::map<std::string, std::string> read_config_defaults(const std::filesystem::path& config_dir)
{
    if (Dir config = Dir::try_open(config_dir)) {
        std::string text;
        if (config.read_file("config.ini", text))
            return parse_config_defaults(text);
    }
    return {};
}

} // namespace buttervolume
