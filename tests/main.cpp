// SPDX-License-Identifier: Apache-2.0
// Catch2's main for the unit suites, in its own file: it is slow to compile.
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
