// SPDX-License-Identifier: Apache-2.0
// JobMetrics: what the scheduler's jobs and their replications did, for the scrape.
#pragma once

#include "metrics/exposition.hpp"

#include <buttervolume/schedule.hpp>
#include <buttervolume/scheduler.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace buttervolume::metrics {

/// Job runs by kind and result, the last success and the failures in a row of each job, and
/// replication bytes and last successes by host. Fed by the scheduler as each job ends (a lock,
/// not atomics: jobs end a few times a minute, not per request). Thread-safe.
class JobMetrics {
public:
    /// Starts from the persisted job records (state/schedule-runs.json), so that the last
    /// successes survive a restart of the daemon; the run counters start at zero.
    void seed(const std::map<std::string, JobRecord>& records);

    /// Counts a job that ended.
    void record(const JobReport& report);

    /// The job and replication families.
    void write(Exposition& out) const;

private:
    using Pair = std::pair<std::string, std::string>;
    mutable std::mutex mutex_;
    std::map<Pair, std::uint64_t> runs_;             // (kind, result)
    std::map<Pair, double> last_success_;            // (volume, action)
    std::map<Pair, std::uint32_t> failures_;         // (volume, action)
    std::map<std::string, std::uint64_t> bytes_;     // host
    std::map<Pair, double> replicated_;              // (volume, host)
};

} // namespace buttervolume::metrics
