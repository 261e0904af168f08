// SPDX-License-Identifier: Apache-2.0
// load_settings: environment first, then config.ini's [DEFAULT] section, then the defaults.
#include "base/config_ini.hpp"
#include "base/text.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/settings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>

namespace buttervolume {

namespace {

struct Source {
    std::map<std::string, std::string> ini;
    std::string ini_path;

    // The value and where it came from, for error messages.
    std::optional<std::pair<std::string, std::string>> get(const char* env, const char* key) const
    {
        if (const char* v = std::getenv(env); v && *v)
            return std::pair{std::string(v), std::string(env)};
        if (auto it = ini.find(ascii_lower(key)); it != ini.end())
            return std::pair{it->second, fmt::format("{} [DEFAULT] {}", ini_path, key)};
        return std::nullopt;
    }
};

unsigned long parse_number(const std::pair<std::string, std::string>& v, unsigned long max, const char* expected)
{
    std::string_view s = trim_space(v.first);
    unsigned long n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || n == 0 || n > max)
        throw InvalidArgument(fmt::format("invalid {} '{}': {}", v.second, v.first, expected));
    return n;
}

} // namespace

Settings load_settings(const PoolPaths& paths)
{
    Source src;
    src.ini_path = (paths.config / "config.ini").native();
    src.ini = read_config_defaults(paths.config);
    Settings s;
    if (auto v = src.get("BUTTERVOLUME_TIMER", "TIMER"))
        s.timer = std::chrono::seconds(parse_number(*v, 86400, "seconds between scheduler ticks, 1 to 86400"));
    if (auto v = src.get("BUTTERVOLUME_LOGLEVEL", "LOGLEVEL")) {
        std::string l = ascii_lower(trim_space(v->first));
        if (l != "debug" && l != "info" && l != "warning" && l != "warn" && l != "error" && l != "critical")
            throw InvalidArgument(
                fmt::format("invalid {} '{}': DEBUG, INFO, WARNING or ERROR", v->second, v->first));
        s.log_level = l == "warning" ? "warn" : l == "critical" ? "error" : l;
    }
    if (auto v = src.get("SSH_PORT", "SSH_PORT"))
        s.ssh_port = static_cast<std::uint16_t>(parse_number(*v, 65535, "a port, 1 to 65535"));
    if (auto v = src.get("BUTTERVOLUME_MIN_FREE", "MIN_FREE")) {
        std::string t(trim_space(v->first));
        if (!t.empty() && t.back() == '%')
            t.pop_back();
        char* end = nullptr;
        double d = std::strtod(t.c_str(), &end);
        if (t.empty() || *end || !(d >= 0 && d < 100))
            throw InvalidArgument(
                fmt::format("invalid {} '{}': a percentage of free space, 0 to 99 (e.g. 5%)", v->second, v->first));
        s.min_free_percent = d;
    }
    return s;
}

} // namespace buttervolume
