// SPDX-License-Identifier: Apache-2.0
// MetricsListener: GET /metrics over TCP (--metrics ADDR:PORT), a component of the Service.
#pragma once

#include "http/component.hpp"
#include "metrics/collector.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace buttervolume::metrics {

/// Where to listen: "127.0.0.1:9105", "[::1]:9105", or ":9105" (every address).
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
};

/// Parses ADDR:PORT. Throws InvalidArgument naming the text and what is wrong.
ListenAddress parse_listen_address(std::string_view text);

/// Serves GET /metrics (and nothing else: any other path is 404) on a TCP address for a
/// Prometheus server, from start() until stop(). The port may be reachable by anyone: its
/// connections, their deadlines and their headers are bounded (http::BoundedServer) well below
/// what the plugin socket and the scheduler need.
class MetricsListener : public http::HttpServerComponent {
public:
    MetricsListener(const Metrics& metrics, ListenAddress address);
    ~MetricsListener() override;

    std::string_view name() const override { return "metrics listener"; }
    /// Binds the address. Throws Error when it cannot (in use, not an address of this host).
    void start() override;

private:
    void release(bool stopped, bool clean) override;

    struct State;
    std::unique_ptr<State> state_;
};

} // namespace buttervolume::metrics
