// SPDX-License-Identifier: Apache-2.0
// The plugin daemon: the unix socket (or systemd's), the HTTP server, signals and shutdown.
#pragma once

#include <buttervolume/pool.hpp>

#include <filesystem>

namespace buttervolume::plugin {

/// The legacy plugin socket Docker looks up for the driver name "btrfs".
inline const std::filesystem::path default_socket_path = "/run/docker/plugins/btrfs.sock";

struct ServerOptions {
    /// Where to listen, unless systemd passed a listening socket (LISTEN_FDS).
    std::filesystem::path socket = default_socket_path;
};

/// Serves the Docker volume plugin protocol for pool until SIGTERM or SIGINT, then lets the
/// requests in flight finish, removes the socket it created, and returns 0.
/// A stale socket file (nothing listening) is replaced; a live one, or a path that is not a
/// socket, is refused (throws Error). The socket is mode 0660. Throws Error when it cannot bind.
int serve(Pool& pool, const ServerOptions& options);

} // namespace buttervolume::plugin
