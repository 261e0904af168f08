// SPDX-License-Identifier: Apache-2.0
// `buttervolume run`: the Docker volume plugin daemon.
#include "cli/command.hpp"
#include "common/log.hpp"
#include "metrics/collector.hpp"
#include "metrics/listener.hpp"
#include "plugin/request.hpp"
#include "plugin/server.hpp"
#include "scheduler_component.hpp"
#include "service.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/settings.hpp>

#include <fmt/format.h>

#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

namespace buttervolume::cli {

namespace {

// The bound on running jobs after SIGTERM: below systemd's TimeoutStopSec (30 s in
// packaging/systemd), so the daemon ends on its own terms, not by SIGKILL.
constexpr std::chrono::seconds job_stop_timeout{20};

// The soft RLIMIT_NOFILE of a service is 1,024 unless raised, a limit kept for programs that
// use select(2); the hard one is what the administrator allows. Like dockerd and containerd
// (LimitNOFILE in their units), the daemon takes what it is allowed: its descriptors are pool
// files, locks and client connections, never select(2) sets (httplib is built with poll). The
// listeners' connection bounds hold whatever the limit, so nothing depends on this.
void raise_descriptor_limit()
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) < 0)
            common::log_line(common::LogLevel::Warn,
                             fmt::format("could not raise the soft limit of open files to the hard one ({}): {}",
                                         lim.rlim_max, std::strerror(errno)));
    }
}

int run(Context& ctx, const Args& args)
{
    // BUTTERVOLUME_TIMER, LOGLEVEL, SSH_PORT, MIN_FREE: environment, then config/config.ini.
    // A bad value stops here, before anything starts, naming where it came from.
    Settings settings = load_settings(ctx.paths);
    try {
        std::string level = args.value("log-level").value_or(settings.log_level.empty() ? "info" : settings.log_level);
        common::set_log_level(common::parse_log_level(level));
    } catch (const InvalidArgument& e) {
        throw UsageError(e.what());
    }
    std::optional<metrics::ListenAddress> metrics_address;
    try {
        auto text = args.value("metrics");
        if (const char* env = std::getenv("BUTTERVOLUME_METRICS"); !text && env && *env)
            text = env;
        if (text)
            metrics_address = metrics::parse_listen_address(*text);
    } catch (const InvalidArgument& e) {
        throw UsageError(e.what());
    }
    plugin::ServerOptions options;
    if (auto s = args.value("socket"))
        options.socket = *s;
    else if (const char* env = std::getenv("BUTTERVOLUME_SOCKET"); env && *env)
        options.socket = env;
    // The pool is opened (layout checked, leftovers removed, mount counts loaded) before the
    // socket exists: Docker calls Get for every volume as soon as it can connect, and a Get
    // that fails then makes it forget the volume's labels and options.
    raise_descriptor_limit();
    Pool& pool = ctx.pool();
    // Always kept (a few atomics per request), served on the plugin socket; over TCP with --metrics.
    metrics::Metrics meters(pool, {.per_volume = args.flag("metrics-per-volume"), .endpoints = plugin::endpoints()});
    meters.jobs().seed(JobRecords(pool.paths()).load());
    options.metrics = &meters;
    // Before any thread exists: the service takes SIGTERM and SIGINT for the whole process.
    Service service;
    SchedulerOptions sched;
    sched.tick = settings.timer;
    sched.min_free_percent = settings.min_free_percent;
    sched.ssh_port = settings.ssh_port;
    sched.stop_timeout = job_stop_timeout;
    sched.on_job_end = [&meters](const JobReport& report) { meters.jobs().record(report); };
    // Added first, so stopped last: the plugin server has removed its socket when the
    // scheduler's bounded wait for running jobs begins (and may end the process).
    service.add(std::make_unique<SchedulerComponent>(pool, sched));
    service.add(std::make_unique<plugin::PluginServer>(pool, options));
    if (metrics_address)
        service.add(std::make_unique<metrics::MetricsListener>(meters, *metrics_address));
    return service.run();
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_run_command(std::vector<Command>& out)
{
    out.push_back({"run", "", "serve the Docker volume plugin (driver name 'btrfs')",
                   "Serves the Docker volume plugin protocol on a unix socket until SIGTERM or SIGINT,\n"
                   "then answers the requests being handled, closes idle connections (one still\n"
                   "sending its first request gets 1 s) and removes the socket. Docker finds the\n"
                   "plugin as the volume driver 'btrfs' (docker volume create -d btrfs ...).\n\n"
                   "A request must arrive whole within 5 s of its first byte and its reply be read\n"
                   "within 10 s; when every server thread is taken, the connection that has waited\n"
                   "or read longest is closed to serve a new one. Headers are limited to 32 KiB and\n"
                   "100 lines, connections to 512 (64 on the metrics port, which has the same\n"
                   "protection).\n\n"
                   "A stale socket file is replaced; the socket is created with mode 0660. Under\n"
                   "systemd socket activation (buttervolume.socket) the passed socket is used\n"
                   "instead and --socket is ignored. One line per request goes to stderr:\n"
                   "endpoint, volume, result and milliseconds.\n\n"
                   "It also runs the scheduled jobs of <root>/config/schedule.csv (see `schedule`)\n"
                   "every BUTTERVOLUME_TIMER seconds (default 60). Settings come from the environment,\n"
                   "then from [DEFAULT] in <root>/config/config.ini: TIMER, LOGLEVEL, SSH_PORT,\n"
                   "MIN_FREE (free-space floor of snapshot jobs, percent, default 5). SIGTERM lets\n"
                   "running jobs finish (up to 20 s), then exits.\n\n"
                   "Prometheus metrics (text format 0.0.4) are served as GET /metrics on the plugin\n"
                   "socket, and over TCP with --metrics ADDR:PORT (env BUTTERVOLUME_METRICS; off by\n"
                   "default); GET /status on the socket tells the pid, start time and version.\n"
                   "A scrape takes no lock and costs a few syscalls; --metrics-per-volume adds a series\n"
                   "per volume (one listing of the volumes per scrape). See README, Monitoring.",
                   {{"socket", 0, "PATH",
                     "socket path (env BUTTERVOLUME_SOCKET, default /run/docker/plugins/btrfs.sock)"},
                    {"log-level", 0, "LEVEL", "debug (adds request and reply bodies), info, warn, error; default LOGLEVEL, else info"},
                    {"metrics", 0, "ADDR:PORT",
                     "also serve GET /metrics over TCP, e.g. 127.0.0.1:9105 (env BUTTERVOLUME_METRICS)"},
                    {"metrics-per-volume", 0, "", "add per-volume series (newest snapshot time, used bytes)"}},
                   0, 0, run});
}
// clang-format on

} // namespace buttervolume::cli
