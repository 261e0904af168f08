// SPDX-License-Identifier: Apache-2.0
// Random suffixes for temporary names (".tmp.<volume>.<suffix>", ".recv.<pid>.<suffix>", ...).
#pragma once

#include <string>

namespace buttervolume {

/// 16 lower-case hex digits from a per-thread generator seeded from std::random_device: unique
/// enough that two temporaries of one directory never collide (each is created exclusively).
std::string random_suffix();

} // namespace buttervolume
