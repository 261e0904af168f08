// SPDX-License-Identifier: Apache-2.0
// Scheduled jobs: `schedule ACTION TIMER VOLUME` and `scheduled [list|pause|resume]`, as in the Python CLI.
#include "cli.hpp"
#include "output.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/scheduler.hpp>

#include <fmt/format.h>

#include <charconv>

namespace buttervolume::cli {

namespace {

using Clock = std::chrono::system_clock;

// The writer calls of daemon/common/json.hpp (structure branch) over this tree's RapidJSON writer.
class Json {
public:
    void begin_object() { w_.StartObject(); }
    void end_object() { w_.EndObject(); }
    void begin_array() { w_.StartArray(); }
    void end_array() { w_.EndArray(); }
    void key(std::string_view k) { w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
    void string(std::string_view s) { w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
    void boolean(bool b) { w_.Bool(b); }
    void number(std::uint64_t n) { w_.Uint64(n); }
    void field(std::string_view k, std::string_view v)
    {
        key(k);
        string(v);
    }
    void optional_field(std::string_view k, std::string_view v)
    {
        key(k);
        if (v.empty())
            w_.Null();
        else
            string(v);
    }
    std::string take() { return buf_.GetString(); }

private:
    rapidjson::StringBuffer buf_;
    JsonWriter w_{buf_};
};

std::optional<std::chrono::minutes> parse_minutes(std::string_view text)
{
    unsigned long n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || n > 52'560'000)
        return std::nullopt;
    return std::chrono::minutes(n);
}

int schedule(Context& ctx, const Args& args)
{
    const std::string& action_text = args.positional[0];
    const std::string& timer = args.positional[1];
    const std::string& volume = args.positional[2];
    // Everything is checked before the file changes.
    JobAction action = JobAction::parse(action_text);
    check_volume_name(volume);
    std::optional<std::chrono::minutes> minutes = parse_minutes(timer);
    if (!minutes && timer != "delete" && timer != "pause" && timer != "resume")
        throw InvalidArgument(
            fmt::format("invalid timer '{}': minutes between runs (a positive integer), 0 or delete, pause, resume", timer));
    // Opening the pool first says "pool root ... does not exist (run 'buttervolume init')".
    Pool& pool = ctx.pool();
    ScheduleFile file(ctx.paths);
    const std::string what = fmt::format("{} of volume '{}'", action.str(), volume);
    if (timer == "delete" || (minutes && minutes->count() == 0)) {
        if (!file.remove(volume, action))
            throw NotFound(fmt::format("no scheduled job {} to delete", what));
        fmt::print("deleted the scheduled job {}\n", what);
    } else if (timer == "pause" || timer == "resume") {
        if (!file.set_active(volume, action, timer == "resume"))
            throw NotFound(fmt::format("no scheduled job {} to {}", what, timer));
        fmt::print("{} the scheduled job {}\n", timer == "pause" ? "paused" : "resumed", what);
    } else {
        ScheduledJob job{volume, action, *minutes, true};
        bool replaced = file.set(job);
        fmt::print("{} {} every {} min\n", replaced ? "rescheduled" : "scheduled", what, minutes->count());
        // Volumes come and go: a job may be set up before its volume exists.
        if (!pool.has_volume(volume))
            fmt::print(stderr, "warning: volume '{}' does not exist (yet); the job fails until it does\n", volume);
    }
    if (file.read().paused)
        fmt::print(stderr, "warning: the schedule is globally paused: no job runs until `buttervolume scheduled resume`\n");
    return 0;
}

std::string when(const std::optional<Clock::time_point>& t)
{
    return t ? rfc3339(*t) : "-";
}

std::string next_text(const JobStatus& st, bool paused)
{
    if (paused)
        return "globally paused";
    if (!st.next_run)
        return "paused";
    if (*st.next_run == Clock::time_point::min())
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

void write_json(const Schedule& s, const std::vector<JobStatus>& statuses)
{
    Json w;
    w.begin_object();
    w.key("paused");
    w.boolean(s.paused);
    w.key("jobs");
    w.begin_array();
    for (const auto& st : statuses) {
        w.begin_object();
        w.field("volume", st.job.volume);
        w.field("action", st.job.action.str());
        w.key("timer_minutes");
        w.number(static_cast<std::uint64_t>(st.job.timer.count()));
        w.key("active");
        w.boolean(st.job.active);
        w.field("state", state_text(st, s.paused));
        w.key("volume_exists");
        w.boolean(st.volume_exists);
        w.optional_field("last_run", st.record.last_run ? rfc3339(*st.record.last_run) : "");
        w.optional_field("last_attempt", st.record.last_attempt ? rfc3339(*st.record.last_attempt) : "");
        w.optional_field("last_result", job_result_name(st.record.last_result));
        w.optional_field("last_message", st.record.last_message);
        w.key("failures");
        w.number(st.record.failures);
        bool now = st.next_run && *st.next_run == Clock::time_point::min();
        w.optional_field("next_run", st.next_run && !now && !s.paused ? rfc3339(*st.next_run) : "");
        w.key("due_now");
        w.boolean(now && !s.paused);
        w.end_object();
    }
    w.end_array();
    w.key("invalid");
    w.begin_array();
    for (const auto& bad : s.invalid) {
        w.begin_object();
        w.key("line");
        w.number(bad.line);
        w.field("text", bad.text);
        w.field("error", bad.error);
        w.end_object();
    }
    w.end_array();
    w.key("warnings");
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
    auto statuses = job_statuses(pool, s, scheduler_now());
    if (args.flag("json")) {
        write_json(s, statuses);
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : statuses) {
        std::string message = st.record.last_message;
        if (!st.volume_exists && message.empty())
            message = "volume does not exist";
        rows.push_back({printable(st.job.volume), printable(st.job.action.str()), std::to_string(st.job.timer.count()),
                        state_text(st, s.paused), when(st.record.last_run),
                        std::string(job_result_name(st.record.last_result)), next_text(st, s.paused),
                        printable(message)});
    }
    print_table({"VOLUME", "ACTION", "TIMER", "STATE", "LAST RUN", "RESULT", "NEXT RUN", "MESSAGE"}, rows);
    for (const auto& bad : s.invalid)
        fmt::print(stderr, "{}: line {} ignored ({}): {}\n", file.path().native(), bad.line, printable(bad.text),
                   bad.error);
    for (const auto& warning : s.warnings)
        fmt::print(stderr, "warning: {}\n", warning);
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
        throw UsageError(fmt::format("unknown scheduled action '{}': list, pause or resume", verb));
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
