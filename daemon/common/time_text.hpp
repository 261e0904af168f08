// SPDX-License-Identifier: Apache-2.0
// Instants as text, always in UTC: RFC 3339 for Docker and JSON, microseconds for snapshots.
#pragma once

#include <chrono>
#include <string>

namespace buttervolume::common {

/// "2026-11-30T09:00:00Z" (UTC, whole seconds): what Docker's CreatedAt decoder accepts.
std::string rfc3339(std::chrono::system_clock::time_point t);

/// "2026-11-30T09:41:07.123456Z": the instant a snapshot name stands for, in UTC.
std::string utc_micro(std::chrono::system_clock::time_point t);

} // namespace buttervolume::common
