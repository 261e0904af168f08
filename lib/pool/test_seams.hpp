// SPDX-License-Identifier: Apache-2.0
// Test seams: crash points in multi-step operations and a fixed clock, only in -Dtest_seams builds.
#pragma once

#include <chrono>
#include <string_view>

#if BV_TEST_SEAMS
#include <buttervolume/snapshot.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>
#endif

namespace buttervolume {

/// In a test build (-Dtest_seams=true): when the environment variable BUTTERVOLUME_TEST_KILL_AT
/// equals step, raise SIGKILL here, to show that an operation killed between two steps leaves
/// a usable pool (a real crash or `kill -9` can land at any of these points). A release build
/// does nothing here, and holds no such name: a root daemon must not kill itself on a variable.
inline void test_kill_point([[maybe_unused]] std::string_view step)
{
#if BV_TEST_SEAMS
    const char* at = std::getenv("BUTTERVOLUME_TEST_KILL_AT");
    if (at && step == at)
        std::raise(SIGKILL);
#endif
}

/// The current time; in a test build, BUTTERVOLUME_TEST_NOW (a snapshot timestamp, UTC) when
/// set: tests use it to make two snapshots in one microsecond and to purge at a chosen time.
/// BUTTERVOLUME_TEST_NOW_FILE names a file holding such a timestamp, read at every call: a
/// test moves a running daemon's clock (its scheduler, its snapshot names) by rewriting it.
inline std::chrono::system_clock::time_point test_now()
{
#if BV_TEST_SEAMS
    if (const char* file = std::getenv("BUTTERVOLUME_TEST_NOW_FILE")) {
        std::ifstream in(file);
        std::string text;
        if (in >> text)
            if (auto sn = parse_snapshot_name("t@" + text))
                return sn->utc;
    }
    if (const char* fixed = std::getenv("BUTTERVOLUME_TEST_NOW"))
        if (auto sn = parse_snapshot_name(std::string("t@") + fixed))
            return sn->utc;
#endif
    return std::chrono::system_clock::now();
}

} // namespace buttervolume
