// SPDX-License-Identifier: Apache-2.0
// When a job is due: the pure rules (last run + timer, retries after failures, clock steps).
#include <buttervolume/schedule.hpp>

#include <algorithm>

namespace buttervolume {

using Clock = std::chrono::system_clock;

std::string_view job_result_name(JobResult r)
{
    switch (r) {
    case JobResult::None:
        return "";
    case JobResult::Ok:
        return "ok";
    case JobResult::Unchanged:
        return "unchanged";
    case JobResult::Failed:
        return "failed";
    }
    return "";
}

std::chrono::minutes retry_delay(std::uint32_t failures, std::chrono::minutes timer)
{
    // 1, 2, 4, ... minutes: a host back after a short outage is caught soon, one down for days
    // costs one attempt per timer, never one per tick.
    const std::uint32_t doublings = failures == 0 ? 0 : std::min<std::uint32_t>(failures - 1, 30);
    const std::chrono::minutes delay(std::int64_t{1} << doublings);
    return std::min(delay, timer);
}

Clock::time_point next_run(const JobRecord& record, std::chrono::minutes timer)
{
    if (record.failures > 0 && record.last_attempt)
        return *record.last_attempt + retry_delay(record.failures, timer);
    if (record.last_run)
        return *record.last_run + timer;
    // Never run: due at the first tick.
    return Clock::time_point::min();
}

JobRecord rebase_on_clock(const JobRecord& record, Clock::time_point now)
{
    // A run "in the future" means the clock went back. Keeping it would hold the job until the
    // clock catches up (a year, after a bad NTP step); forgetting it would run the job at once,
    // a second time. Moving it to now does neither: the next run is one timer from now.
    JobRecord r = record;
    if (r.last_run && *r.last_run > now)
        r.last_run = now;
    if (r.last_attempt && *r.last_attempt > now)
        r.last_attempt = now;
    return r;
}

bool is_due(const JobRecord& record, std::chrono::minutes timer, Clock::time_point now)
{
    return next_run(rebase_on_clock(record, now), timer) <= now;
}

JobRecord record_attempt(JobRecord record, Clock::time_point at, JobResult result, std::string message)
{
    record.last_attempt = at;
    record.last_result = result;
    record.last_message = std::move(message);
    if (result == JobResult::Failed) {
        ++record.failures;
    } else {
        // The time it ran, not last_run + timer: a job overdue by a week runs once, then one
        // timer later, not once per missed period.
        record.last_run = at;
        record.failures = 0;
    }
    return record;
}

} // namespace buttervolume
