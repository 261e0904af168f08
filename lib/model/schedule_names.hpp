// SPDX-License-Identifier: Apache-2.0
// The schedule file's names in config/, shared by its owner (lib/schedule) and its readers below it (lib/replicate).
#pragma once

namespace buttervolume {

/// The live schedule: the Python plugin's /etc/buttervolume/schedule.csv.
inline constexpr const char* schedule_file_name = "schedule.csv";
/// The same file while globally paused (`scheduled pause`, Python's SCHEDULE_DISABLED).
inline constexpr const char* paused_schedule_file_name = "schedule.csv.disabled";

} // namespace buttervolume
