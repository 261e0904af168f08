// SPDX-License-Identifier: Apache-2.0
// Scheduler: the tick loop, the per-volume job locks, the bounded workers and the persisted records.
#include "base/dir.hpp"
#include "base/printable.hpp"
#include "pool/test_seams.hpp"
#include "pool/volume_lock.hpp"
#include "schedule/job_runner.hpp"
#include "schedule/worker_pool.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/scheduler.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

namespace buttervolume {

using Clock = std::chrono::system_clock;

Clock::time_point scheduler_now()
{
    return test_now();
}

std::vector<JobStatus> job_statuses(const Pool& pool, const Schedule& schedule, Clock::time_point now)
{
    auto records = JobRecords(pool.paths()).load();
    std::vector<JobStatus> out;
    for (const auto& job : schedule.jobs) {
        JobStatus st;
        st.job = job;
        if (auto it = records.find(job.key()); it != records.end())
            st.record = it->second;
        if (job.active && !schedule.paused)
            st.next_run = next_run(rebase_on_clock(st.record, now), job.timer);
        st.volume_exists = pool.has_volume(job.volume);
        out.push_back(std::move(st));
    }
    return out;
}

class Scheduler::Impl {
public:
    Impl(Pool& pool, SchedulerOptions options)
        : pool_(pool), options_(std::move(options)), file_(pool.paths()), store_(pool.paths()),
          job_locks_(Dir::open(pool.paths().state, true).sub("job-locks", true, 0700)), records_(store_.load()),
          workers_(options_.workers)
    {
        remove_stale_job_locks();
    }

    void log(SchedulerLogLevel level, const std::string& line) const
    {
        if (options_.log)
            options_.log(level, line);
    }

    std::size_t tick();
    std::vector<const ScheduledJob*> due_jobs(const Schedule& schedule, Clock::time_point now);
    void loop();
    void run_volume(const std::vector<ScheduledJob>& jobs);
    void run_one(const ScheduledJob& job);
    void finish(const ScheduledJob& job, Clock::time_point started, const JobOutcome& outcome);
    void read_schedule(Schedule& out);
    void forget_deleted_jobs(const Schedule& schedule);
    void remove_stale_job_locks() noexcept;

    Pool& pool_;
    const SchedulerOptions options_;
    ScheduleFile file_;
    JobRecords store_;
    Dir job_locks_;

    std::mutex records_mutex_;
    std::map<std::string, JobRecord> records_;
    std::string last_text_;

    // Volumes with a task queued or running in this process: a later tick skips their jobs
    // (see tick()), so the queue holds at most one task per volume.
    std::mutex busy_mutex_;
    std::set<std::string, std::less<>> busy_volumes_;

    std::mutex loop_mutex_;
    std::condition_variable loop_wake_;
    std::atomic<bool> stopping_{false};
    std::thread loop_thread_;
    WorkerPool workers_;
};

void Scheduler::Impl::read_schedule(Schedule& out)
{
    out = file_.read();
    // Warnings and bad lines are logged when the file changes, not at every tick.
    std::string text = format_schedule(out) + (out.paused ? "paused" : "");
    if (text == last_text_)
        return;
    last_text_ = text;
    for (const auto& w : out.warnings)
        log(SchedulerLogLevel::Warn, fmt::format("schedule: {}", w));
    for (const auto& bad : out.invalid)
        log(SchedulerLogLevel::Error,
            fmt::format("schedule: line {} ignored ({}): {}", bad.line, printable(bad.text, 200), bad.error));
    log(SchedulerLogLevel::Info, fmt::format("schedule: {} jobs{}", out.jobs.size(), out.paused ? ", globally paused" : ""));
}

// The due jobs, the longest overdue first (file order among equals).
std::vector<const ScheduledJob*> Scheduler::Impl::due_jobs(const Schedule& schedule, Clock::time_point now)
{
    std::vector<std::pair<Clock::time_point, const ScheduledJob*>> due;
    for (const auto& job : schedule.jobs) {
        if (!job.active)
            continue;
        std::lock_guard lock(records_mutex_);
        JobRecord& r = records_[job.key()];
        JobRecord rebased = rebase_on_clock(r, now);
        if (rebased.last_run != r.last_run || rebased.last_attempt != r.last_attempt) {
            log(SchedulerLogLevel::Warn,
                fmt::format("job {} {}: its last run is in the future (the clock went back); counted from now",
                            job.volume, job.action.str()));
            r = rebased;
            store_.save(records_);
        }
        if (is_due(r, job.timer, now))
            due.emplace_back(next_run(r, job.timer), &job);
    }
    std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<const ScheduledJob*> out;
    out.reserve(due.size());
    for (const auto& entry : due)
        out.push_back(entry.second);
    return out;
}

std::size_t Scheduler::Impl::tick()
{
    if (stopping_)
        return 0;
    Schedule schedule;
    try {
        read_schedule(schedule);
    } catch (const std::exception& e) {
        log(SchedulerLogLevel::Error, fmt::format("schedule: {}", e.what()));
        return 0;
    }
    forget_deleted_jobs(schedule);
    if (schedule.paused)
        return 0;
    const std::vector<const ScheduledJob*> due = due_jobs(schedule, scheduler_now());
    // Every due job is queued now, one task per volume running its due jobs one after the
    // other: the workers bound how many run at once, not how many start per tick (issue 29:
    // four per tick made 300 hourly jobs run every 75 minutes).
    std::vector<std::vector<ScheduledJob>> tasks;
    std::map<std::string_view, std::size_t> task_of;
    {
        std::lock_guard lock(busy_mutex_);
        for (const ScheduledJob* job : due) {
            // Python #22: a long replicate must make later ticks skip this volume's jobs, not
            // queue them (a burst of snapshots when the host comes back).
            if (busy_volumes_.contains(job->volume)) {
                log(SchedulerLogLevel::Debug, fmt::format("job {} {}: skipped, another job of the volume is running",
                                                          job->volume, job->action.str()));
                continue;
            }
            auto [it, added] = task_of.try_emplace(job->volume, tasks.size());
            if (added)
                tasks.emplace_back();
            tasks[it->second].push_back(*job);
        }
        for (const auto& jobs : tasks)
            busy_volumes_.insert(jobs.front().volume);
    }
    std::size_t queued = 0;
    for (auto& jobs : tasks) {
        const std::string volume = jobs.front().volume;
        const std::size_t n = jobs.size();
        if (workers_.submit([this, jobs = std::move(jobs)] { run_volume(jobs); })) {
            queued += n;
        } else {
            std::lock_guard lock(busy_mutex_);
            busy_volumes_.erase(volume);
        }
    }
    return queued;
}

void Scheduler::Impl::run_volume(const std::vector<ScheduledJob>& jobs)
{
    const std::string& volume = jobs.front().volume;
    try {
        // The lock is a file, so a second daemon or a library user running the same schedule
        // is kept out too. It is taken when the task starts, not when it is queued: a queue
        // of hundreds of volumes holds no descriptor.
        VolumeLock lock = VolumeLock::try_lock(job_locks_.fd(), volume);
        if (!lock.held()) {
            for (const auto& job : jobs)
                log(SchedulerLogLevel::Debug, fmt::format("job {} {}: skipped, another job of the volume is running",
                                                          job.volume, job.action.str()));
        } else {
            for (const auto& job : jobs) {
                // stop(): nothing starts after it, queued jobs included.
                if (stopping_)
                    break;
                run_one(job);
            }
            // Removed while held (every locker checks that the file it locked is still linked,
            // see VolumeLock): job-locks/ holds a file only while a job runs, never one per name
            // ever scheduled.
            lock.remove_file();
        }
    } catch (const std::exception& e) {
        log(SchedulerLogLevel::Error, fmt::format("job {}: {}", volume, e.what()));
    }
    std::lock_guard lock(busy_mutex_);
    busy_volumes_.erase(volume);
}

void Scheduler::Impl::run_one(const ScheduledJob& job)
{
    const Clock::time_point at = scheduler_now();
    log(SchedulerLogLevel::Debug, fmt::format("job {} {}: started", job.volume, job.action.str()));
    std::vector<JobTransfer> transfers;
    JobOutcome outcome = run_job(pool_, job, {options_.min_free_percent, options_.ssh_port}, &transfers);
    finish(job, at, outcome);
    if (options_.on_job_end)
        options_.on_job_end(JobReport{job, outcome.result, outcome.message, scheduler_now(), std::move(transfers)});
}

// The records of jobs no longer in the schedule (deleted, or whose line no longer reads) are
// dropped, so state/schedule-runs stays the size of the schedule. A job of a deleted line that
// is still running writes its record when it ends; the next tick drops it.
void Scheduler::Impl::forget_deleted_jobs(const Schedule& schedule)
{
    std::unordered_set<std::string> keys;
    keys.reserve(schedule.jobs.size());
    for (const auto& job : schedule.jobs)
        keys.insert(job.key());
    std::lock_guard lock(records_mutex_);
    if (std::erase_if(records_, [&](const auto& entry) { return !keys.contains(entry.first); }) == 0)
        return;
    try {
        store_.save(records_);
    } catch (const std::exception& e) {
        log(SchedulerLogLevel::Error, fmt::format("schedule: cannot save the job records: {}", e.what()));
    }
}

// Job lock files left by a crash, or by a version that kept one per name: a free lock is no
// job at work, and its file is removed while held.
void Scheduler::Impl::remove_stale_job_locks() noexcept
{
    try {
        std::vector<std::string> names;
        job_locks_.for_each([&](std::string_view entry, unsigned char) { names.emplace_back(entry); });
        for (const auto& name : names) {
            VolumeLock lock = VolumeLock::try_lock_existing(job_locks_.fd(), name);
            if (lock.held())
                lock.remove_file();
        }
    } catch (const std::exception& e) {
        log(SchedulerLogLevel::Warn, fmt::format("schedule: cannot clean state/job-locks: {}", e.what()));
    }
}

void Scheduler::Impl::finish(const ScheduledJob& job, Clock::time_point started, const JobOutcome& outcome)
{
    std::lock_guard lock(records_mutex_);
    JobRecord& r = records_[job.key()];
    r = record_attempt(r, started, outcome.result, outcome.message);
    if (outcome.result == JobResult::Failed) {
        auto retry = retry_delay(r.failures, job.timer);
        log(SchedulerLogLevel::Error, fmt::format("job {} {}: failed ({} in a row), retried in {} min: {}", job.volume,
                                                  job.action.str(), r.failures, retry.count(), outcome.message));
    } else {
        log(SchedulerLogLevel::Info,
            fmt::format("job {} {}: {}: {}", job.volume, job.action.str(), job_result_name(outcome.result), outcome.message));
    }
    try {
        store_.save(records_);
    } catch (const std::exception& e) {
        log(SchedulerLogLevel::Error, fmt::format("schedule: cannot save the job records: {}", e.what()));
    }
}

void Scheduler::Impl::loop()
{
    while (!stopping_) {
        // A tick that fails (state/ unwritable, a lock file that cannot be opened) is logged
        // and tried again at the next one: the loop itself never ends but by stop().
        try {
            tick();
        } catch (const std::exception& e) {
            log(SchedulerLogLevel::Error, fmt::format("schedule: tick failed: {}", e.what()));
        }
        std::unique_lock lock(loop_mutex_);
        loop_wake_.wait_for(lock, options_.tick, [this] { return stopping_.load(); });
    }
}

Scheduler::Scheduler(Pool& pool, SchedulerOptions options) : impl_(std::make_unique<Impl>(pool, std::move(options))) {}

Scheduler::~Scheduler()
{
    stop();
    if (impl_->loop_thread_.joinable())
        impl_->loop_thread_.join();
    // ~WorkerPool joins its threads: jobs still running end first (they use the pool and
    // this scheduler's records).
}

void Scheduler::start()
{
    impl_->loop_thread_ = std::thread([this] { impl_->loop(); });
}

void Scheduler::stop()
{
    {
        std::lock_guard lock(impl_->loop_mutex_);
        impl_->stopping_ = true;
    }
    impl_->loop_wake_.notify_all();
}

bool Scheduler::join()
{
    if (impl_->loop_thread_.joinable())
        impl_->loop_thread_.join();
    if (impl_->workers_.wait_idle(impl_->options_.stop_timeout))
        return true;
    impl_->log(SchedulerLogLevel::Error,
               fmt::format("schedule: jobs still running {} s after the stop request are abandoned; they run again "
                           "at the next start",
                           impl_->options_.stop_timeout.count()));
    impl_->workers_.abandon();
    return false;
}

std::size_t Scheduler::tick()
{
    return impl_->tick();
}

void Scheduler::wait_idle()
{
    impl_->workers_.wait_idle(std::chrono::hours(24 * 365));
}

} // namespace buttervolume
