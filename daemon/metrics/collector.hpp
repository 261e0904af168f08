// SPDX-License-Identifier: Apache-2.0
// Metrics: everything a scrape shows, gathered from the pool's counts, the requests and the jobs.
#pragma once

#include "metrics/job_metrics.hpp"
#include "metrics/request_metrics.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {
class Pool;
}

namespace buttervolume::metrics {

struct MetricsOptions {
    /// Adds a series per volume (newest snapshot time; used bytes where a size limit is set):
    /// one more pass over the volumes per scrape, so off by default.
    bool per_volume = false;
    /// The URL paths the plugin serves (plugin::endpoints()): one series each.
    std::vector<std::string_view> endpoints;
};

/// The daemon's metrics. A scrape takes no volume lock, writes nothing and spawns nothing: the
/// pool families are counts the pool keeps per folder (Pool::statistics), the others live here.
/// Thread-safe.
class Metrics {
public:
    Metrics(const Pool& pool, MetricsOptions options);

    RequestMetrics& requests() { return requests_; }
    JobMetrics& jobs() { return jobs_; }
    /// When the daemon started (process_start_time_seconds).
    std::chrono::system_clock::time_point started() const { return started_; }

    /// One scrape in the text format. When the pool cannot be read (its folders gone), its
    /// families are left out and buttervolume_pool_up is 0; the others are still written.
    std::string scrape() const;

private:
    const Pool& pool_;
    const MetricsOptions options_;
    const std::chrono::system_clock::time_point started_;
    RequestMetrics requests_;
    JobMetrics jobs_;
};

} // namespace buttervolume::metrics
