// SPDX-License-Identifier: Apache-2.0
// Retention: the purge pattern "1h:1d:1w:4w:1y" and the pure function that decides what goes.
#pragma once

#include <buttervolume/export.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

/// One component of a pattern: N units (m, h, d, w, y; a year is 365 days).
struct BV_EXPORT RetentionDuration {
    std::chrono::minutes length{0};
    std::uint64_t count = 0;
    char unit = 'm';

    /// "4w".
    std::string str() const;
};

/// A parsed purge pattern: components in strictly ascending order.
struct BV_EXPORT RetentionPattern {
    std::vector<RetentionDuration> durations;

    /// Parses the Python syntax `N{m,h,d,w,y}[:N{unit}...]`. Throws InvalidArgument saying what
    /// is wrong: empty pattern or component, bad number or unit, zero, not ascending, duplicate.
    static RetentionPattern parse(std::string_view text);

    /// "1h:1d:1w".
    std::string str() const;
};

/// What retention decided for one snapshot.
struct BV_EXPORT RetentionDecision {
    bool keep = true;
    /// Why, for people: "newest snapshot", "younger than 1h", "older than 1y",
    /// "first of bucket 2026-11-30 (1d) in band 1d-1w", "bucket 2026-11-30 (1d) already has db@...".
    std::string reason;
};

/// Decides which snapshots to keep. times[i] is snapshot i's instant and names[i] its name
/// (names only appear in reasons; it may be empty). With durations D0 < D1 < ... < Dk and
/// age = now - time:
///  - the newest snapshot is always kept, and so is every snapshot younger than D0;
///  - in band i (Di <= age < Di+1; the last band includes Dk) the oldest snapshot of each bucket
///    of width Di is kept and the others are deleted; buckets are aligned on the UTC calendar
///    (minutes, hours and days from the Unix epoch, weeks from Monday 1970-01-05, years on
///    calendar years), so a snapshot that survives one run survives the next until it leaves
///    its band;
///  - everything older than Dk is deleted.
/// Throws InvalidArgument when names is non-empty and not the size of times.
BV_EXPORT std::vector<RetentionDecision> decide_retention(const RetentionPattern& pattern,
                                                          const std::vector<std::chrono::system_clock::time_point>& times,
                                                          std::chrono::system_clock::time_point now,
                                                          const std::vector<std::string>& names = {});

} // namespace buttervolume
