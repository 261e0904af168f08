// SPDX-License-Identifier: Apache-2.0
// Snapshot names read without allocation, and which zone a snapshot timestamp was written in
// (UTC by us, local time by the Python project).
#pragma once

#include <buttervolume/snapshot.hpp>

#include <chrono>
#include <string_view>

namespace buttervolume {

/// parse_snapshot_name without building a SnapshotName: true when name is a snapshot name, with
/// volume (a view into name) and utc filled. For scans that only count and compare.
bool split_snapshot_name(std::string_view name, std::string_view& volume, std::chrono::system_clock::time_point& utc);

/// Reads a snapshot timestamp whose calendar fields, taken as UTC, give utc and, taken as the
/// process's local time, give local. Python-written names are local, ours UTC, and both use the
/// same text, so the subvolume's creation time decides: Local only when otime falls within
/// `slack` after the local reading and not after the UTC one; UTC otherwise (also for snapshots
/// received from elsewhere, whose otime is the time of receipt).
TimestampZone read_snapshot_time(std::chrono::system_clock::time_point utc, std::chrono::system_clock::time_point local,
                                 std::chrono::system_clock::time_point otime,
                                 std::chrono::seconds slack = std::chrono::seconds(300));

/// The instant the calendar fields of utc (read as UTC) stand for in the process's local time
/// zone (mktime; the DST ambiguity is resolved as mktime does).
std::chrono::system_clock::time_point local_reading(std::chrono::system_clock::time_point utc);

} // namespace buttervolume
