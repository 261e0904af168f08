// SPDX-License-Identifier: Apache-2.0
// The one generator of random suffixes for temporary names.
#include "base/random.hpp"

#include <fmt/format.h>

#include <random>

namespace buttervolume {

std::string random_suffix()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}", rng());
}

} // namespace buttervolume
