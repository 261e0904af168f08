// SPDX-License-Identifier: Apache-2.0
// The plugin server: a BoundedServer on the plugin socket (or systemd's), a component of the Service.
#pragma once

#include "http/component.hpp"

#include <buttervolume/pool.hpp>

#include <filesystem>
#include <memory>

namespace buttervolume::metrics {
class Metrics;
}

namespace buttervolume::plugin {

/// The legacy plugin socket Docker looks up for the driver name "btrfs".
inline const std::filesystem::path default_socket_path = "/run/docker/plugins/btrfs.sock";

struct ServerOptions {
    /// Where to listen, unless systemd passed a listening socket (LISTEN_FDS).
    std::filesystem::path socket = default_socket_path;
    /// Counts every request, and serves GET /metrics (a scrape) and GET /status (the daemon's
    /// pid, start time and version, for `buttervolume status`) on the socket. Not owned; may be null.
    metrics::Metrics* metrics = nullptr;
};

/// Serves the Docker volume plugin protocol for a pool, from start() until stop(). Slow clients
/// are held to deadlines and give way when every thread is taken, and headers and connections
/// are bounded (http::BoundedServer); stop answers
/// the requests being handled, cuts idle and slow connections, and join() removes the socket
/// file it created.
class PluginServer : public http::HttpServerComponent {
public:
    PluginServer(Pool& pool, ServerOptions options);
    ~PluginServer() override;

    std::string_view name() const override { return "plugin server"; }

    /// Binds the socket and starts accepting. A stale socket file (nothing listening) is
    /// replaced; a live one, or a path that is not a socket, is refused. The socket is mode
    /// 0660. Throws Error when it cannot bind.
    void start() override;

private:
    void release(bool stopped, bool clean) override;

    struct State;
    std::unique_ptr<State> state_;
};

} // namespace buttervolume::plugin
