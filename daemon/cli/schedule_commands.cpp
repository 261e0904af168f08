// SPDX-License-Identifier: Apache-2.0
// Scheduled jobs: `schedule ACTION TIMER VOLUME` and `scheduled [list|pause|resume]`, as in the Python CLI.
#include "cli/command.hpp"
#include "common/json.hpp"
#include "common/terminal.hpp"
#include "common/time_text.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/scheduler.hpp>

#include <fmt/format.h>

namespace buttervolume::cli {

namespace {

using Clock = std::chrono::system_clock;
using common::JsonWriter;
using common::rfc3339;

int schedule(Context& ctx, const Args& args)
{
    const std::string& action_text = args.positional[0];
    const std::string& timer = args.positional[1];
    const std::string& volume = args.positional[2];
    // Everything is checked before the file changes.
    JobAction action = JobAction::parse(action_text);
    check_volume_name(volume);
    const bool remove = timer == "delete" || (!timer.empty() && timer.find_first_not_of('0') == std::string::npos);
    const bool toggle = timer == "pause" || timer == "resume";
    std::chrono::minutes minutes{0};
    if (!remove && !toggle) {
        try {
            minutes = parse_schedule_timer(timer);
        } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("{} (or 0 / delete, pause, resume)", e.what()));
        }
    }
    // Opening the pool first says "pool root ... does not exist (run 'buttervolume init')"
    // instead of creating config/ in a folder that is no pool.
    Pool& pool = ctx.pool();
    ScheduleFile file(ctx.paths);
    const std::string what = fmt::format("{} of volume '{}'", action.str(), volume);
    // What the warnings need is read before the change: a read failing after it would exit 1
    // with the change made (the fault suite's "failed but done").
    const bool volume_missing = !remove && !toggle && !pool.has_volume(volume);
    const bool paused = file.path().extension() == ".disabled";
    if (remove) {
        if (!file.remove(volume, action))
            throw NotFound(fmt::format("no scheduled job {} to delete", what));
        fmt::print("deleted the scheduled job {}\n", printable(what));
    } else if (toggle) {
        if (!file.set_active(volume, action, timer == "resume"))
            throw NotFound(fmt::format("no scheduled job {} to {}", what, timer));
        fmt::print("{} the scheduled job {}\n", timer == "pause" ? "paused" : "resumed", printable(what));
    } else {
        bool replaced = file.set({volume, action, minutes, true});
        fmt::print("{} {} every {} min\n", replaced ? "rescheduled" : "scheduled", printable(what), minutes.count());
        // Volumes come and go: a job may be set up before its volume exists.
        if (volume_missing)
            fmt::print(stderr, "warning: volume '{}' does not exist (yet); the job fails until it does\n", volume);
    }
    if (paused)
        fmt::print(stderr, "warning: the schedule is globally paused: no job runs until `buttervolume scheduled resume`\n");
    return 0;
}

// The next tick, as a time: a job due now shows as due, not as a time in the past.
bool due_now(const JobStatus& st, Clock::time_point now)
{
    return st.next_run && *st.next_run <= now;
}

std::string next_text(const JobStatus& st, bool paused, Clock::time_point now)
{
    if (paused)
        return "globally paused";
    if (!st.next_run)
        return "paused";
    if (due_now(st, now))
        return "next tick";
    return rfc3339(*st.next_run);
}

std::string state_text(const JobStatus& st, bool paused)
{
    if (paused)
        return "globally paused";
    if (!st.job.active)
        return "paused";
    if (st.record.failures > 0)
        return fmt::format("failing ({}x)", st.record.failures);
    return "active";
}

std::string time_or_empty(const std::optional<Clock::time_point>& t)
{
    return t ? rfc3339(*t) : std::string();
}

void write_json(const Schedule& s, const std::vector<JobStatus>& statuses, Clock::time_point now)
{
    JsonWriter w;
    w.begin_object();
    w.field("Paused", s.paused);
    w.key("Jobs");
    w.begin_array();
    for (const auto& st : statuses) {
        const bool due = !s.paused && due_now(st, now);
        w.begin_object();
        w.field("Volume", st.job.volume);
        w.field("Action", st.job.action.str());
        w.field("TimerMinutes", static_cast<std::uint64_t>(st.job.timer.count()));
        w.field("Active", st.job.active);
        w.field("State", state_text(st, s.paused));
        w.field("VolumeExists", st.volume_exists);
        w.optional_field("LastRun", time_or_empty(st.record.last_run));
        w.optional_field("LastAttempt", time_or_empty(st.record.last_attempt));
        w.optional_field("LastResult", job_result_name(st.record.last_result));
        w.optional_field("LastMessage", st.record.last_message);
        w.field("Failures", st.record.failures);
        w.optional_field("NextRun", st.next_run && !due && !s.paused ? rfc3339(*st.next_run) : "");
        w.field("DueNow", due);
        w.end_object();
    }
    w.end_array();
    w.key("Invalid");
    w.begin_array();
    for (const auto& bad : s.invalid) {
        w.begin_object();
        w.field("Line", bad.line);
        w.field("Text", bad.text);
        w.field("Error", bad.error);
        w.end_object();
    }
    w.end_array();
    w.key("Warnings");
    w.begin_array();
    for (const auto& warning : s.warnings)
        w.string(warning);
    w.end_array();
    w.end_object();
    fmt::print("{}\n", w.take());
}

int list(Context& ctx, const Args& args)
{
    Pool& pool = ctx.pool();
    ScheduleFile file(ctx.paths);
    Schedule s = file.read();
    const Clock::time_point now = scheduler_now();
    auto statuses = job_statuses(pool, s, now);
    if (args.flag("json")) {
        write_json(s, statuses, now);
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : statuses) {
        std::string message = st.record.last_message;
        if (!st.volume_exists && message.empty())
            message = "volume does not exist";
        std::string last = time_or_empty(st.record.last_run);
        rows.push_back({printable(st.job.volume), printable(st.job.action.str()), std::to_string(st.job.timer.count()),
                        state_text(st, s.paused), last.empty() ? "-" : last,
                        std::string(job_result_name(st.record.last_result)), next_text(st, s.paused, now),
                        printable(message)});
    }
    common::print_table({"VOLUME", "ACTION", "TIMER", "STATE", "LAST RUN", "RESULT", "NEXT RUN", "MESSAGE"}, rows);
    for (const auto& bad : s.invalid)
        fmt::print(stderr, "{}: line {} ignored ({}): {}\n", file.path().native(), bad.line, printable(bad.text),
                   printable(bad.error));
    for (const auto& warning : s.warnings)
        fmt::print(stderr, "warning: {}\n", printable(warning));
    if (s.paused)
        fmt::print(stderr, "the schedule is globally paused (buttervolume scheduled resume)\n");
    return 0;
}

int scheduled(Context& ctx, const Args& args)
{
    std::string verb = args.positional.empty() ? "list" : args.positional[0];
    if (verb == "list")
        return list(ctx, args);
    if (verb != "pause" && verb != "resume")
        throw UsageError(fmt::format("unknown scheduled action '{}': list, pause or resume", printable(verb)));
    ctx.pool();
    ScheduleFile file(ctx.paths);
    bool changed = verb == "pause" ? file.pause_all() : file.resume_all();
    fmt::print("{}\n", changed ? (verb == "pause" ? "schedule globally paused" : "schedule resumed")
                               : (verb == "pause" ? "schedule already paused" : "schedule was not paused"));
    return 0;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_schedule_commands(std::vector<Command>& out)
{
    out.push_back({"schedule", "ACTION TIMER VOLUME", "add, change, pause or delete a scheduled job",
                   "Adds the job (VOLUME, ACTION) run every TIMER minutes by `buttervolume run`, or\n"
                   "replaces its timer. TIMER 0 or delete removes the job; pause and resume toggle it.\n"
                   "ACTION is one of:\n"
                   "  snapshot                    a snapshot (skipped, logged \"unchanged\", when the\n"
                   "                              volume has not changed since its newest snapshot)\n"
                   "  replicate:HOST[,HOST...]    a snapshot, then send it to each HOST\n"
                   "  purge:PATTERN               purge the volume's snapshots (e.g. purge:1h:1d:1w:4w:1y)\n"
                   "  snapshot+purge:PATTERN      a snapshot, then a purge\n"
                   "  synchronize:HOST[,HOST...]  a safety snapshot, then rsync the volume from each HOST\n"
                   "HOST is [user@]host[:port] or an ssh-config alias. The job is written to\n"
                   "<root>/config/schedule.csv (the Python plugin's format); a volume that does not\n"
                   "exist yet is accepted with a warning.",
                   {}, 3, 3, schedule});
    out.push_back({"scheduled", "[list|pause|resume]", "list scheduled jobs, or pause or resume them all",
                   "list (the default) shows each job: timer (minutes), state, last run, last result,\n"
                   "next run, and the last error or what the job did. pause stops every job (the file\n"
                   "is renamed schedule.csv.disabled, as the Python project does); resume undoes it.",
                   {{"json", 0, "", "print the list as one JSON object (see README, Scheduled jobs)"}},
                   0, 1, scheduled});
}
// clang-format on

} // namespace buttervolume::cli
