// SPDX-License-Identifier: Apache-2.0
// For tests that drive the library's test seams (BUTTERVOLUME_TEST_KILL_AT, BUTTERVOLUME_TEST_NOW).
#pragma once

#include "../catch.hpp"

#ifndef BV_TEST_SEAMS
#error "tests using seams.hpp link buttervolume_internal_dep, which defines BV_TEST_SEAMS"
#endif

namespace buttervolume::test {

/// Fails the calling test unless the library was built with -Dtest_seams=true: such a test must
/// not pass without the seams it sets. (meson runs the [seams] tests only in builds that have
/// them, and registers a skipped test in the others.)
inline void require_test_seams()
{
    INFO("libbuttervolume was built without -Dtest_seams=true: BUTTERVOLUME_TEST_* are ignored");
    REQUIRE(BV_TEST_SEAMS == 1);
}

} // namespace buttervolume::test
