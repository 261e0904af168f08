// SPDX-License-Identifier: Apache-2.0
// `buttervolume run`: the Docker volume plugin daemon.
#include "cli.hpp"
#include "log.hpp"
#include "plugin_server.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/scheduler.hpp>
#include <buttervolume/settings.hpp>

#include <fmt/format.h>

#include <signal.h>

#include <cstdlib>

namespace buttervolume::cli {

namespace {

LogLevel level_of(SchedulerLogLevel l)
{
    switch (l) {
    case SchedulerLogLevel::Debug:
        return LogLevel::Debug;
    case SchedulerLogLevel::Info:
        return LogLevel::Info;
    case SchedulerLogLevel::Warn:
        return LogLevel::Warn;
    case SchedulerLogLevel::Error:
        return LogLevel::Error;
    }
    return LogLevel::Info;
}

SchedulerOptions scheduler_options(const Settings& settings)
{
    SchedulerOptions o;
    o.tick = settings.timer;
    o.min_free_percent = settings.min_free_percent;
    o.ssh_port = settings.ssh_port;
    o.log = [](SchedulerLogLevel level, const std::string& line) {
        if (log_enabled(level_of(level)))
            log_line(level_of(level), line);
    };
    return o;
}

int run(Context& ctx, const Args& args)
{
    // BUTTERVOLUME_TIMER, LOGLEVEL, SSH_PORT, MIN_FREE: environment, then config/config.ini.
    // A bad value stops here, before anything starts, naming where it came from.
    Settings settings = load_settings(ctx.paths);
    try {
        std::string level = args.value("log-level").value_or(settings.log_level.empty() ? "info" : settings.log_level);
        set_log_level(parse_log_level(level));
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
    Pool& pool = ctx.pool();
    // The scheduler's threads must not take SIGTERM/SIGINT, which serve() waits for: block
    // them before any thread exists (serve() blocks the same set again).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    SchedulerOptions sched = scheduler_options(settings);
    Scheduler scheduler(pool, sched);
    scheduler.start();
    log_line(LogLevel::Info, fmt::format("scheduler: ticking every {} s, {} workers", settings.timer.count(), sched.workers));
    int status = plugin::serve(pool, options);
    scheduler.stop();
    // A job that does not end (an ssh past its own timeouts) must not keep the daemon alive
    // after SIGTERM: exit now, as a SIGKILL from the service manager would; it runs again at
    // the next start, and the library leaves nothing half-made.
    if (!scheduler.join())
        std::_Exit(1);
    return status;
}

} // namespace

void add_run_command(std::vector<Command>& out)
{
    out.push_back({"run", "", "serve the Docker volume plugin (driver name 'btrfs')",
                   "Serves the Docker volume plugin protocol on a unix socket until SIGTERM or SIGINT,\n"
                   "then lets requests in flight finish and removes the socket. Docker finds the\n"
                   "plugin as the volume driver 'btrfs' (docker volume create -d btrfs ...).\n\n"
                   "A stale socket file is replaced; the socket is created with mode 0660. Under\n"
                   "systemd socket activation (buttervolume.socket) the passed socket is used\n"
                   "instead and --socket is ignored. One line per request goes to stderr:\n"
                   "endpoint, volume, result and milliseconds.\n\n"
                   "It also runs the scheduled jobs of <root>/config/schedule.csv (see `schedule`)\n"
                   "every BUTTERVOLUME_TIMER seconds (default 60). Settings come from the environment,\n"
                   "then from [DEFAULT] in <root>/config/config.ini: TIMER, LOGLEVEL, SSH_PORT,\n"
                   "MIN_FREE (free-space floor of snapshot jobs, percent, default 5). SIGTERM lets\n"
                   "running jobs finish (up to 60 s).",
                   {{"socket", 0, "PATH",
                     "socket path (env BUTTERVOLUME_SOCKET, default /run/docker/plugins/btrfs.sock)"},
                    {"log-level", 0, "LEVEL", "debug (adds request and reply bodies), info, warn, error; default LOGLEVEL, else info"}},
                   0, 0, run});
}

} // namespace buttervolume::cli
