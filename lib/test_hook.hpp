// SPDX-License-Identifier: Apache-2.0
// Crash points for tests: the process kills itself at a named step of a multi-step operation.
#pragma once

#include <csignal>
#include <cstdlib>
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

} // namespace buttervolume
