// SPDX-License-Identifier: Apache-2.0
// run_job: what one scheduled job does to a pool, and what it reports.
#pragma once

#include <buttervolume/scheduler.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace buttervolume {

class Pool;

/// What run_job needs besides the job.
struct JobContext {
    double min_free_percent = 5;
    std::optional<std::uint16_t> ssh_port;
};

/// How a job ended: Ok or Unchanged with what it did, Failed with why.
struct JobOutcome {
    JobResult result = JobResult::Ok;
    std::string message;
};

/// Runs job once on pool. Never throws: a failure is an outcome. transfers, when given, gets
/// each host a replicate job sent to (or failed to), whether or not the job as a whole failed.
JobOutcome run_job(Pool& pool, const ScheduledJob& job, const JobContext& ctx,
                   std::vector<JobTransfer>* transfers = nullptr);

} // namespace buttervolume
