// SPDX-License-Identifier: Apache-2.0
// Scheduler: runs a pool's scheduled jobs when due, in parallel across volumes, never twice at a time per volume.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/schedule.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace buttervolume {

class Pool;

/// How important a scheduler log line is.
enum class SchedulerLogLevel { Debug, Info, Warn, Error };

/// One host of a replicate job, as its send went.
struct BV_EXPORT JobTransfer {
    /// The host as the job's action names it.
    std::string host;
    /// Stream bytes sent (0 when the host already had the snapshot, or the send failed early).
    std::uint64_t bytes = 0;
    bool ok = false;
};

/// What a job did, told to SchedulerOptions::on_job_end when it ends.
struct BV_EXPORT JobReport {
    ScheduledJob job;
    JobResult result = JobResult::None;
    /// The error when it failed; what it did when it succeeded.
    std::string message;
    /// When it ended (the scheduler's clock).
    std::chrono::system_clock::time_point ended;
    /// Each host of a replicate job, in the action's order (empty for other jobs).
    std::vector<JobTransfer> transfers;
};

/// Settings of a Scheduler.
struct BV_EXPORT SchedulerOptions {
    /// Time between ticks: the schedule file is read again and due jobs start at each.
    std::chrono::milliseconds tick{std::chrono::seconds(60)};
    /// Jobs running at once (each of a different volume). Every job due at a tick is queued at
    /// that tick and starts as soon as a worker is free; a volume whose job is queued or
    /// running is skipped by later ticks, so a hung job holds one worker, never a growing queue.
    std::size_t workers = 4;
    /// Snapshot, replicate and synchronize jobs fail (and are retried) when the pool's
    /// filesystem has less free space than this percentage.
    double min_free_percent = 5;
    /// How long join() waits for running jobs after stop().
    std::chrono::seconds stop_timeout{60};
    /// The ssh port for hosts that name none (replicate, synchronize).
    std::optional<std::uint16_t> ssh_port;
    /// Where log lines go (nowhere when unset). Called from the scheduler's threads.
    std::function<void(SchedulerLogLevel, const std::string&)> log;
    /// Called as each job ends, after its record is saved (from the job's worker thread; it
    /// must not throw). A daemon counts job runs and replication bytes with it.
    std::function<void(const JobReport&)> on_job_end;
};

/// One job and what is known about it, as `buttervolume scheduled` shows it.
struct BV_EXPORT JobStatus {
    ScheduledJob job;
    JobRecord record;
    /// When it is next due (time_point::min() for "at the next tick"; unset when paused).
    std::optional<std::chrono::system_clock::time_point> next_run;
    /// False when the job's volume does not exist (the job then fails when it runs).
    bool volume_exists = true;
};

/// The pool's jobs with their records and next runs, at now. Throws Error.
BV_EXPORT std::vector<JobStatus> job_statuses(const Pool& pool, const Schedule& schedule,
                                              std::chrono::system_clock::time_point now);

/// The current time (in a test build, the test clock seam).
BV_EXPORT std::chrono::system_clock::time_point scheduler_now();

/// Runs the jobs of config/schedule.csv on pool. Each tick reads the file (hand edits count
/// from the next tick) and queues every active job that is due and whose volume has no job
/// queued or running; the jobs of one volume run one after the other (a job lock per volume
/// in state/job-locks/, across processes, its file removed when the volume's jobs end). Each
/// result is recorded in state/schedule-runs as it ends; the records of jobs no longer in the
/// schedule are dropped at the next tick. Thread-safe.
class BV_EXPORT Scheduler {
public:
    /// pool must outlive the scheduler. Throws Error when state/ cannot be opened.
    Scheduler(Pool& pool, SchedulerOptions options);
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;
    /// Stops, and waits for running jobs (without a bound).
    ~Scheduler();

    /// Starts ticking in a thread of its own; the first tick is at once.
    void start();
    /// Asks it to stop: no job starts after this; running ones go on.
    void stop();
    /// Waits for the ticking thread and for running jobs, at most stop_timeout. Returns false
    /// when jobs were still running then: a daemon should exit at once (the library's
    /// guarantees leave nothing half-made; such a job simply runs again), as destroying the
    /// Scheduler waits for them.
    bool join();

    /// One tick now, without the thread: queues the due jobs; returns how many it queued (they
    /// start at once, as far as there are workers, the others as workers free up).
    std::size_t tick();
    /// Waits until no job runs.
    void wait_idle();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace buttervolume
