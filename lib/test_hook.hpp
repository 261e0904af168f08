// SPDX-License-Identifier: Apache-2.0
// Test hooks, driven by environment variables: crash points in multi-step operations, and a
// fixed clock for snapshot names and purge ages.
#pragma once

#include <buttervolume/snapshot.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>

namespace buttervolume {

/// When the environment variable BUTTERVOLUME_TEST_KILL_AT equals step, raise SIGKILL here.
/// Tests use it to show that an operation killed between two steps leaves a usable pool
/// (a real crash or `kill -9` can land at any of these points).
inline void test_kill_point(std::string_view step)
{
    const char* at = std::getenv("BUTTERVOLUME_TEST_KILL_AT");
    if (at && step == at)
        std::raise(SIGKILL);
}

/// The current time, or BUTTERVOLUME_TEST_NOW (a snapshot timestamp, UTC) when set: tests use
/// it to make two snapshots in one microsecond and to purge at a chosen time.
inline std::chrono::system_clock::time_point test_now()
{
    if (const char* fixed = std::getenv("BUTTERVOLUME_TEST_NOW"))
        if (auto sn = parse_snapshot_name(std::string("t@") + fixed))
            return sn->utc;
    return std::chrono::system_clock::now();
}

} // namespace buttervolume
