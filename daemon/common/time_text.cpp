// SPDX-License-Identifier: Apache-2.0
// UTC time formatting through gmtime, whatever fmt version formats time_points in.
#include "common/time_text.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace buttervolume::common {

std::string rfc3339(std::chrono::system_clock::time_point t)
{
    // fmt 9 formats a time_point in local time (fmt 10 changed it to UTC): go through
    // gmtime explicitly, or CreatedAt would carry the local time with a "Z".
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

std::string utc_micro(std::chrono::system_clock::time_point t)
{
    auto us = std::chrono::floor<std::chrono::microseconds>(t);
    auto secs = std::chrono::floor<std::chrono::seconds>(us);
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(secs)),
                       (us - secs).count());
}

} // namespace buttervolume::common
