// SPDX-License-Identifier: Apache-2.0
// The one include for Catch2 (v2 from Debian; header-only).
#pragma once

#include <catch2/catch.hpp>
