// SPDX-License-Identifier: Apache-2.0
// `buttervolume status`: the pool, the daemon, snapshots, failing jobs and replication lag on one screen.
#include "cli/command.hpp"
#include "common/json.hpp"
#include "common/terminal.hpp"
#include "common/time_text.hpp"
#include "plugin/server.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/scheduler.hpp>
#include <buttervolume/settings.hpp>

#include <fmt/format.h>

#include <httplib.h>
#include <rapidjson/document.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

namespace buttervolume::cli {

namespace {

using Clock = std::chrono::system_clock;

/// What GET /status on the plugin socket said; found = false when nothing answered.
struct DaemonView {
    bool found = false;
    std::string error;
    std::uint64_t pid = 0;
    std::string version;
    std::string started;
    std::int64_t uptime_seconds = 0;
};

struct FailingJob {
    std::string volume, action, message, last_attempt;
    std::uint32_t failures = 0;
};

struct Replica {
    std::string volume, host, last_success; // last_success empty: never
    std::optional<std::int64_t> lag_seconds;
};

struct StatusView {
    std::filesystem::path root, socket;
    PoolStatistics stats;
    double free_percent = 0, floor_percent = 0;
    DaemonView daemon;
    std::size_t without_snapshot = 0;
    std::string oldest_newest_volume, oldest_newest_time;
    std::vector<FailingJob> failing;
    std::vector<Replica> replicas;
    std::vector<std::string> problems;
};

// Why nothing answered on socket, in words: httplib only says "Connection" for a missing
// socket and for one nobody listens on alike, so connect once more to read errno.
std::string why_unreachable(const std::filesystem::path& socket, httplib::Error error)
{
    if (error != httplib::Error::Connection)
        return httplib::to_string(error);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket.native().size() >= sizeof addr.sun_path)
        return "the path is too long for a unix socket";
    std::memcpy(addr.sun_path, socket.c_str(), socket.native().size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::strerror(errno);
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(fd);
    if (rc == 0)
        return "it accepted the connection only on the second try";
    if (err == ENOENT)
        return "no socket there";
    if (err == ECONNREFUSED)
        return "the socket is there but nothing listens on it: a stopped daemon";
    return std::strerror(err);
}

DaemonView ask_daemon(const std::filesystem::path& socket)
{
    DaemonView d;
    httplib::Client client(socket.native(), 80);
    client.set_address_family(AF_UNIX);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto res = client.Get("/status");
    if (!res) {
        d.error = fmt::format("no daemon answers on {} ({})", socket.native(), why_unreachable(socket, res.error()));
        return d;
    }
    rapidjson::Document doc;
    doc.Parse(res->body.c_str(), res->body.size());
    if (res->status != 200 || !doc.IsObject() || !doc.HasMember("Pid") || !doc["Pid"].IsUint64()) {
        d.error = fmt::format("the daemon on {} does not tell its status (HTTP {}): an older buttervolume?",
                              socket.native(), res->status);
        return d;
    }
    d.found = true;
    d.pid = doc["Pid"].GetUint64();
    if (doc.HasMember("Version") && doc["Version"].IsString())
        d.version = doc["Version"].GetString();
    if (doc.HasMember("Started") && doc["Started"].IsString())
        d.started = doc["Started"].GetString();
    if (doc.HasMember("StartedUnix") && doc["StartedUnix"].IsUint64())
        d.uptime_seconds = std::int64_t(Clock::to_time_t(Clock::now())) - std::int64_t(doc["StartedUnix"].GetUint64());
    return d;
}

std::string duration_text(std::int64_t s)
{
    if (s < 0)
        return "in the future";
    if (s < 120)
        return fmt::format("{} s", s);
    if (s < 7200)
        return fmt::format("{} min", s / 60);
    if (s < 2 * 86400)
        return fmt::format("{} h {} min", s / 3600, s / 60 % 60);
    return fmt::format("{} d {} h", s / 86400, s / 3600 % 24);
}

StatusView gather(Context& ctx, const std::filesystem::path& socket)
{
    StatusView v;
    Pool& pool = ctx.pool();
    const Settings settings = load_settings(ctx.paths);
    v.root = ctx.paths.root;
    v.socket = socket;
    v.stats = pool.statistics();
    v.floor_percent = settings.min_free_percent;
    v.free_percent = v.stats.fs_size_bytes ? 100.0 * double(v.stats.fs_free_bytes) / double(v.stats.fs_size_bytes) : 0;
    if (v.free_percent < v.floor_percent)
        v.problems.push_back(fmt::format("free space {:.1f}% is under the floor of {}% (MIN_FREE): snapshot jobs fail",
                                         v.free_percent, v.floor_percent));

    v.daemon = ask_daemon(socket);
    if (!v.daemon.found)
        v.problems.push_back(v.daemon.error);

    // The oldest "newest snapshot": the volume whose protection is the most out of date.
    const std::vector<std::string> names = pool.volume_names();
    std::map<std::string, Clock::time_point> newest;
    for (auto& [volume, t] : pool.newest_snapshots())
        newest.emplace(volume, t);
    std::optional<std::pair<Clock::time_point, std::string>> oldest;
    for (const auto& name : names) {
        auto it = newest.find(name);
        if (it == newest.end())
            ++v.without_snapshot;
        else if (!oldest || it->second < oldest->first)
            oldest = {it->second, name};
    }
    if (oldest) {
        v.oldest_newest_volume = oldest->second;
        v.oldest_newest_time = common::rfc3339(oldest->first);
    }

    Schedule schedule = ScheduleFile(ctx.paths).read();
    const Clock::time_point now = scheduler_now();
    for (const auto& st : job_statuses(pool, schedule, now)) {
        const std::string action = st.job.action.str();
        if (st.record.last_result == JobResult::Failed) {
            v.failing.push_back({st.job.volume, action, st.record.last_message,
                                 st.record.last_attempt ? common::rfc3339(*st.record.last_attempt) : "",
                                 st.record.failures});
            v.problems.push_back(fmt::format("job {} {} failed: {}", st.job.volume, action, st.record.last_message));
        }
        if (st.job.action.kind != JobKind::Replicate)
            continue;
        for (const auto& host : st.job.action.hosts) {
            Replica r{st.job.volume, host, "", std::nullopt};
            if (st.record.last_run) {
                r.last_success = common::rfc3339(*st.record.last_run);
                r.lag_seconds = std::chrono::duration_cast<std::chrono::seconds>(now - *st.record.last_run).count();
            }
            v.replicas.push_back(std::move(r));
        }
    }
    return v;
}

void print_json(const StatusView& v)
{
    common::JsonWriter w;
    w.begin_object();
    w.field("Healthy", v.problems.empty());
    w.key("Problems");
    w.begin_array();
    for (const auto& p : v.problems)
        w.string(p);
    w.end_array();
    w.key("Pool");
    w.begin_object();
    w.field("Root", v.root.native());
    w.field("SizeBytes", v.stats.fs_size_bytes);
    w.field("FreeBytes", v.stats.fs_free_bytes);
    w.field("FreePercent", v.free_percent);
    w.field("MinFreePercent", v.floor_percent);
    w.field("Quotas", v.stats.quotas);
    w.end_object();
    w.key("Daemon");
    w.begin_object();
    w.field("Socket", v.socket.native());
    w.field("Running", v.daemon.found);
    if (v.daemon.found) {
        w.field("Pid", v.daemon.pid);
        w.field("Version", v.daemon.version);
        w.field("Started", v.daemon.started);
        w.field("UptimeSeconds", std::uint64_t(std::max<std::int64_t>(v.daemon.uptime_seconds, 0)));
    } else {
        w.field("Error", v.daemon.error);
    }
    w.end_object();
    w.field("Volumes", v.stats.volumes);
    w.field("Mounts", v.stats.mounts);
    w.field("Snapshots", v.stats.snapshots);
    w.field("VolumesWithoutSnapshot", v.without_snapshot);
    w.key("OldestNewestSnapshot");
    if (v.oldest_newest_volume.empty()) {
        w.null();
    } else {
        w.begin_object();
        w.field("Volume", v.oldest_newest_volume);
        w.field("Time", v.oldest_newest_time);
        w.end_object();
    }
    w.key("FailingJobs");
    w.begin_array();
    for (const auto& j : v.failing) {
        w.begin_object();
        w.field("Volume", j.volume);
        w.field("Action", j.action);
        w.optional_field("LastAttempt", j.last_attempt);
        w.field("Failures", j.failures);
        w.field("Error", j.message);
        w.end_object();
    }
    w.end_array();
    w.key("Replication");
    w.begin_array();
    for (const auto& r : v.replicas) {
        w.begin_object();
        w.field("Volume", r.volume);
        w.field("Host", r.host);
        w.optional_field("LastSuccess", r.last_success);
        w.key("LagSeconds");
        r.lag_seconds ? w.real(double(*r.lag_seconds)) : w.null();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    fmt::print("{}\n", w.take());
}

void print_text(const StatusView& v)
{
    fmt::print("pool        {}\n", printable(v.root.native()));
    fmt::print("filesystem  {} of {} free ({:.1f}%, floor {}%), quotas {}\n", common::human_bytes(v.stats.fs_free_bytes),
               common::human_bytes(v.stats.fs_size_bytes), v.free_percent, v.floor_percent, v.stats.quotas ? "on" : "off");
    if (v.daemon.found)
        fmt::print("daemon      running on {}: pid {}, up {}, version {}\n", printable(v.socket.native()), v.daemon.pid,
                   duration_text(v.daemon.uptime_seconds), printable(v.daemon.version));
    else
        fmt::print("daemon      NOT RUNNING: {}\n", printable(v.daemon.error));
    fmt::print("volumes     {} ({} mounts)\n", v.stats.volumes, v.stats.mounts);
    fmt::print("snapshots   {}", v.stats.snapshots);
    if (!v.oldest_newest_volume.empty())
        fmt::print("; oldest newest snapshot: {} at {}", printable(v.oldest_newest_volume), v.oldest_newest_time);
    if (v.without_snapshot)
        fmt::print("; {} volumes without any", v.without_snapshot);
    fmt::print("\n");
    if (!v.failing.empty()) {
        fmt::print("\nfailing jobs\n");
        std::vector<std::vector<std::string>> rows;
        for (const auto& j : v.failing)
            rows.push_back({printable(j.volume), printable(j.action), std::to_string(j.failures),
                            j.last_attempt.empty() ? "-" : j.last_attempt, printable(j.message)});
        common::print_table({"VOLUME", "ACTION", "FAILURES", "LAST ATTEMPT", "ERROR"}, rows);
    }
    if (!v.replicas.empty()) {
        fmt::print("\nreplication\n");
        std::vector<std::vector<std::string>> rows;
        for (const auto& r : v.replicas)
            rows.push_back({printable(r.volume), printable(r.host), r.last_success.empty() ? "never" : r.last_success,
                            r.lag_seconds ? duration_text(*r.lag_seconds) : "-"});
        common::print_table({"VOLUME", "HOST", "LAST SUCCESS", "LAG"}, rows);
    }
    fmt::print("\n{}\n", v.problems.empty() ? "healthy" : "NEEDS ATTENTION:");
    for (const auto& p : v.problems)
        fmt::print("  - {}\n", printable(p));
}

int status(Context& ctx, const Args& args)
{
    std::filesystem::path socket = plugin::default_socket_path;
    if (auto s = args.value("socket"))
        socket = *s;
    else if (const char* env = std::getenv("BUTTERVOLUME_SOCKET"); env && *env)
        socket = env;
    StatusView v = gather(ctx, socket);
    if (args.flag("json"))
        print_json(v);
    else
        print_text(v);
    return v.problems.empty() ? 0 : 1;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_status_command(std::vector<Command>& out)
{
    out.push_back({"status", "", "the pool, the daemon, failing jobs and replication lag at a glance",
                   "Shows the pool (path, filesystem size and free space, quotas), whether a daemon\n"
                   "serves the plugin socket (its pid, uptime and version, from GET /status), the\n"
                   "volumes, mounts and snapshots, the volume whose newest snapshot is the oldest,\n"
                   "the scheduled jobs whose last run failed with their error, and each replication\n"
                   "target of the scheduled replicate jobs with its lag (time since its last success).\n\n"
                   "Exit status: 0 when healthy; 1 when something needs attention: no daemon answers\n"
                   "on the socket, a job failed its last run, or free space is under the floor\n"
                   "(MIN_FREE, as the snapshot jobs use it). Usable as a health check (systemd,\n"
                   "a monitoring agent, a Docker HEALTHCHECK); 2 for a usage error.",
                   {{"socket", 0, "PATH",
                     "the daemon's socket (env BUTTERVOLUME_SOCKET, default /run/docker/plugins/btrfs.sock)"},
                    {"json", 0, "", "one JSON record instead of the table"}},
                   0, 0, status});
}
// clang-format on

} // namespace buttervolume::cli
