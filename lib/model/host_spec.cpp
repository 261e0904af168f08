// SPDX-License-Identifier: Apache-2.0
// parse_host_spec: the HOST rule of replication, shared by Remote::parse and the schedule's actions.
#include "model/host_spec.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <charconv>

namespace buttervolume {

namespace {

bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

// Every part goes to ssh as its own argv entry, but ssh would still read "-oProxyCommand=..."
// as an option, and a config alias may not contain characters a shell would care about.
void check_part(std::string_view spec, std::string_view part, std::string_view role)
{
    if (part.empty())
        throw InvalidArgument(fmt::format("host '{}': empty {}", spec, role));
    if (part.front() == '-')
        throw InvalidArgument(fmt::format("host '{}': the {} may not start with '-'", spec, role));
    for (char c : part)
        if (!host_char(c))
            throw InvalidArgument(fmt::format("host '{}': the {} may only hold letters, digits, '.', '-' and '_'",
                                              spec, role));
}

} // namespace

std::optional<std::uint16_t> parse_port(std::string_view text)
{
    unsigned v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

HostSpec parse_host_spec(std::string_view spec)
{
    if (spec.empty())
        throw InvalidArgument("host '': empty host name");
    if (spec.size() > 255)
        throw InvalidArgument(fmt::format("host '{}...': longer than 255 characters", spec.substr(0, 32)));
    HostSpec r;
    std::string_view rest = spec;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        r.user = std::string(rest.substr(0, at));
        check_part(spec, *r.user, "user name");
        rest.remove_prefix(at + 1);
    }
    if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        auto port = parse_port(rest.substr(colon + 1));
        if (!port)
            throw InvalidArgument(fmt::format("host '{}': port '{}' is not a number in 1..65535", spec,
                                              rest.substr(colon + 1)));
        r.port = port;
        rest = rest.substr(0, colon);
    }
    check_part(spec, rest, "host name");
    r.host = std::string(rest);
    return r;
}

} // namespace buttervolume
