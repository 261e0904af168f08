// SPDX-License-Identifier: Apache-2.0
// Daemon settings the Python project's users have: BUTTERVOLUME_* variables, then config/config.ini.
#pragma once

#include <buttervolume/export.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace buttervolume {

struct PoolPaths;

/// The settings of `buttervolume run` and its scheduler.
struct BV_EXPORT Settings {
    /// Seconds between scheduler ticks (BUTTERVOLUME_TIMER, config.ini TIMER; default 60).
    std::chrono::seconds timer{60};
    /// The log level as given (BUTTERVOLUME_LOGLEVEL, LOGLEVEL: Python's DEBUG, INFO, WARNING,
    /// ERROR, any case); empty when unset.
    std::string log_level;
    /// The ssh port for remotes whose HOST names none (SSH_PORT, as in the Python project).
    std::optional<std::uint16_t> ssh_port;
    /// Snapshot, replicate and synchronize jobs are skipped, with an error, when the pool's
    /// filesystem has less free space than this percentage (BUTTERVOLUME_MIN_FREE, MIN_FREE;
    /// default 5).
    double min_free_percent = 5;
};

/// Reads the settings: each from its environment variable when set and non-empty, else from
/// the [DEFAULT] section of <config>/config.ini when it has the key (case-insensitive, as
/// Python's configparser), else the default. Throws InvalidArgument naming the variable or
/// file, the value and what is expected; Error when config.ini exists but cannot be read.
BV_EXPORT Settings load_settings(const PoolPaths& paths);

} // namespace buttervolume
