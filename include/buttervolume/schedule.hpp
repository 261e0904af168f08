// SPDX-License-Identifier: Apache-2.0
// Scheduled jobs: the schedule file (config/schedule.csv), their persisted runs, and when each is due.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/retention.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

struct PoolPaths;

/// What a job does.
enum class JobKind { Snapshot, Replicate, Purge, Synchronize, SnapshotPurge };

/// A job's ACTION column: "snapshot", "replicate:HOST[,HOST...]", "purge:PATTERN",
/// "synchronize:HOST[,HOST...]" or "snapshot+purge:PATTERN".
struct BV_EXPORT JobAction {
    JobKind kind = JobKind::Snapshot;
    /// The hosts of replicate and synchronize, as given ("[user@]host[:port]" or an ssh alias).
    std::vector<std::string> hosts;
    /// The pattern of purge and snapshot+purge.
    RetentionPattern pattern;

    /// Parses text strictly (what `buttervolume schedule` accepts). Throws InvalidArgument
    /// naming the action and why: an unknown action, a missing or bad HOST or PATTERN.
    static JobAction parse(std::string_view text);
    /// Parses text as found in a schedule file: also the Python project's old patterns with
    /// duplicate or unordered components ("purge:2h:2h" reads as "purge:2h"); each such
    /// repair is added to warnings. Throws InvalidArgument for anything else that is wrong.
    static JobAction parse_lenient(std::string_view text, std::vector<std::string>& warnings);

    /// The canonical text ("purge:1h:1d", "replicate:a,b").
    std::string str() const;
};

/// One line of the schedule file.
struct BV_EXPORT ScheduledJob {
    std::string volume;
    JobAction action;
    /// Minutes between runs (positive).
    std::chrono::minutes timer{0};
    bool active = true;

    /// The job's identity: (volume, canonical action), as in the Python project.
    std::string key() const { return volume + "," + action.str(); }
};

/// A line of the schedule file that could not be read: kept as it is when the file is
/// rewritten, and shown by `scheduled` with the reason.
struct BV_EXPORT InvalidScheduleLine {
    std::size_t line = 0;
    std::string text;
    std::string error;
};

/// The schedule file's content.
struct BV_EXPORT Schedule {
    std::vector<ScheduledJob> jobs;
    std::vector<InvalidScheduleLine> invalid;
    /// Repairs made while reading (Python's duplicate pattern components, ...).
    std::vector<std::string> warnings;
    /// True when the file is schedule.csv.disabled (the global pause).
    bool paused = false;

    /// The job (volume, action), or nullptr.
    const ScheduledJob* find(std::string_view volume, const JobAction& action) const;
};

/// TIMER of a job: minutes between runs, a positive integer. Throws InvalidArgument naming it.
BV_EXPORT std::chrono::minutes parse_schedule_timer(std::string_view text);

/// Parses a schedule file's text: "Name,Action,Timer,Active" lines without a header, CSV
/// quoting as Python's csv module writes it ("db,\"synchronize:a,b\",60,True"); a 3-column
/// line is active. Bad lines are returned in invalid, never thrown.
BV_EXPORT Schedule parse_schedule(std::string_view text);

/// The text of schedule (jobs, then the invalid lines as they were), as the Python plugin
/// writes it: Active is True or False, fields with a comma or quote are quoted.
BV_EXPORT std::string format_schedule(const Schedule& schedule);

/// The schedule file of a pool: <config>/schedule.csv, or schedule.csv.disabled while globally
/// paused (the Python project's names, so either program sees the other's pause). Every change
/// is a read, modify and write of the whole file to a temporary file renamed into place, under
/// a lock (state/locks/.schedule), so a crash leaves the old or the new file, never a mix.
class BV_EXPORT ScheduleFile {
public:
    /// Throws Error when config/ or state/ cannot be opened or created.
    explicit ScheduleFile(const PoolPaths& paths);

    /// The current schedule (empty when no file exists). Throws Error when it cannot be read.
    Schedule read() const;

    /// Adds job, or replaces the job with the same volume and action (its timer and state).
    /// Returns true when it replaced one.
    bool set(const ScheduledJob& job);
    /// Removes the job (volume, action); false when there was none.
    bool remove(std::string_view volume, const JobAction& action);
    /// Sets the job's Active flag; false when there is no such job.
    bool set_active(std::string_view volume, const JobAction& action, bool active);
    /// Global pause: renames schedule.csv to schedule.csv.disabled. False when already paused.
    bool pause_all();
    /// Undoes pause_all. False when not paused.
    bool resume_all();

    /// The file read now ("<config>/schedule.csv" or its ".disabled" name).
    std::filesystem::path path() const;

private:
    std::filesystem::path config_;
    std::filesystem::path locks_;
};

/// What a job's last attempt did.
enum class JobResult { None, Ok, Unchanged, Failed };

/// "ok", "unchanged", "failed", or "" for None.
BV_EXPORT std::string_view job_result_name(JobResult r);

/// What is remembered of a job between runs and restarts (state/schedule-runs.json).
struct BV_EXPORT JobRecord {
    /// The last successful run (a failure is not a run).
    std::optional<std::chrono::system_clock::time_point> last_run;
    /// The last attempt, successful or not.
    std::optional<std::chrono::system_clock::time_point> last_attempt;
    JobResult last_result = JobResult::None;
    /// The error of the last attempt when it failed; what it did when it succeeded.
    std::string last_message;
    /// Failures since the last successful run.
    std::uint32_t failures = 0;
};

/// The delay before retrying a job after its n-th failure in a row (n >= 1): one minute,
/// doubling with each failure, never more than the job's timer.
BV_EXPORT std::chrono::minutes retry_delay(std::uint32_t failures, std::chrono::minutes timer);

/// When the job is next due: at once when it never ran; after a failure, last_attempt +
/// retry_delay; else last_run + timer. A job overdue by many periods is due once, not once per
/// missed period (running it sets last_run to the time it ran).
BV_EXPORT std::chrono::system_clock::time_point next_run(const JobRecord& record, std::chrono::minutes timer);

/// The record with times later than now (the clock was stepped back) moved back to now, so the
/// job neither runs twice nor waits for the old future; unchanged otherwise.
BV_EXPORT JobRecord rebase_on_clock(const JobRecord& record, std::chrono::system_clock::time_point now);

/// True when the job should run at now (next_run of the rebased record is not after now).
BV_EXPORT bool is_due(const JobRecord& record, std::chrono::minutes timer, std::chrono::system_clock::time_point now);

/// The record after an attempt at `at` ended with result and message.
BV_EXPORT JobRecord record_attempt(JobRecord record, std::chrono::system_clock::time_point at, JobResult result,
                                   std::string message);

/// The persisted records of a pool's jobs, by ScheduledJob::key().
class BV_EXPORT JobRecords {
public:
    /// Opens state/ (created when missing). Throws Error.
    explicit JobRecords(const PoolPaths& paths);
    /// Every record (empty when none were saved). A damaged file reads as empty (jobs then
    /// run once more, never twice at a time). Throws Error when it cannot be read.
    std::map<std::string, JobRecord> load() const;
    /// Replaces the file atomically with records. Throws Error.
    void save(const std::map<std::string, JobRecord>& records) const;

private:
    std::filesystem::path state_;
};

} // namespace buttervolume
