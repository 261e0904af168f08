// SPDX-License-Identifier: Apache-2.0
// HOST of replication ("[user@]host[:port]" or an ssh-config alias): the one rule, for Remote and for scheduled jobs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace buttervolume {

/// The parts of a HOST.
struct HostSpec {
    std::optional<std::string> user;
    std::string host;
    std::optional<std::uint16_t> port;
};

/// A port number, 1 to 65535 (nullopt for anything else).
std::optional<std::uint16_t> parse_port(std::string_view text);

/// Parses spec. Throws InvalidArgument "host '<spec>': <why>": empty, longer than 255, a
/// leading '-' (ssh would read an option), a character outside [A-Za-z0-9._-] in user or host
/// (a Python node put HOST into a shell), a port outside 1..65535.
HostSpec parse_host_spec(std::string_view spec);

} // namespace buttervolume
