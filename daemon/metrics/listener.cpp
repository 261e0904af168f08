// SPDX-License-Identifier: Apache-2.0
// MetricsListener: a small cpp-httplib server on TCP answering GET /metrics with a scrape.
#include "metrics/listener.hpp"

#include "common/log.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <httplib.h>

#include <charconv>

namespace buttervolume::metrics {

ListenAddress parse_listen_address(std::string_view text)
{
    auto bad = [&](std::string_view why) {
        return InvalidArgument(fmt::format("metrics address '{}': {} (expected ADDR:PORT, e.g. 127.0.0.1:9105, "
                                           "[::1]:9105 or :9105)",
                                           text, why));
    };
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
        throw bad("no port");
    std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    else if (host.find(':') != std::string_view::npos)
        throw bad("an IPv6 address goes in brackets");
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
        throw bad("the port must be a number from 1 to 65535");
    // An empty host listens on every IPv4 address, as Prometheus exporters' ":9100" does.
    return {host.empty() ? std::string("0.0.0.0") : std::string(host), std::uint16_t(value)};
}

struct MetricsListener::State {
    State(const Metrics& m, ListenAddress a) : metrics(m), address(std::move(a)) {}
    const Metrics& metrics;
    ListenAddress address;
    httplib::Server svr;
};

MetricsListener::MetricsListener(const Metrics& metrics, ListenAddress address)
    : state_(std::make_unique<State>(metrics, std::move(address)))
{
}

MetricsListener::~MetricsListener()
{
    shut_down();
}

void MetricsListener::start()
{
    State& s = *state_;
    // A scrape is small and Prometheus sends one at a time: a few threads are plenty, and
    // bound what a flood of connections can take.
    s.svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
    s.svr.set_keep_alive_timeout(5);
    s.svr.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(s.metrics.scrape(), exposition_content_type);
        } catch (const std::exception& e) {
            res.status = 500;
            res.set_content(fmt::format("scrape failed: {}\n", e.what()), "text/plain");
        }
    });
    if (!s.svr.bind_to_port(s.address.host, s.address.port))
        throw Error(EADDRINUSE, fmt::format("metrics: cannot listen on {}:{} (address in use, or not an address "
                                            "of this host)",
                                            s.address.host, s.address.port));
    common::log_line(common::LogLevel::Info,
                     fmt::format("serving metrics on http://{}:{}/metrics", s.address.host, s.address.port));
    serve(s.svr);
}

void MetricsListener::release(bool stopped, bool)
{
    if (!stopped)
        common::log_line(common::LogLevel::Error, "metrics: the listener stopped accepting; exiting");
}

} // namespace buttervolume::metrics
