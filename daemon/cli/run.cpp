// SPDX-License-Identifier: Apache-2.0
// `buttervolume run`: the Docker volume plugin daemon.
#include "cli/command.hpp"
#include "common/log.hpp"
#include "plugin/server.hpp"
#include "service.hpp"

#include <buttervolume/error.hpp>

#include <cstdlib>
#include <memory>

namespace buttervolume::cli {

namespace {

int run(Context& ctx, const Args& args)
{
    try {
        common::set_log_level(common::parse_log_level(args.value("log-level").value_or("info")));
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
    // Before any thread exists: the service takes SIGTERM and SIGINT for the whole process.
    Service service;
    service.add(std::make_unique<plugin::PluginServer>(pool, options));
    return service.run();
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_run_command(std::vector<Command>& out)
{
    out.push_back({"run", "", "serve the Docker volume plugin (driver name 'btrfs')",
                   "Serves the Docker volume plugin protocol on a unix socket until SIGTERM or SIGINT,\n"
                   "then lets requests in flight finish and removes the socket. Docker finds the\n"
                   "plugin as the volume driver 'btrfs' (docker volume create -d btrfs ...).\n\n"
                   "A stale socket file is replaced; the socket is created with mode 0660. Under\n"
                   "systemd socket activation (buttervolume.socket) the passed socket is used\n"
                   "instead and --socket is ignored. One line per request goes to stderr:\n"
                   "endpoint, volume, result and milliseconds.",
                   {{"socket", 0, "PATH",
                     "socket path (env BUTTERVOLUME_SOCKET, default /run/docker/plugins/btrfs.sock)"},
                    {"log-level", 0, "LEVEL", "debug (adds request and reply bodies), info, warn, error; default info"}},
                   0, 0, run});
}
// clang-format on

} // namespace buttervolume::cli
