// SPDX-License-Identifier: Apache-2.0
// MetricsListener: a BoundedServer on TCP answering GET /metrics with a scrape.
#include "metrics/listener.hpp"

#include "common/log.hpp"
#include "http/bounded_server.hpp"

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

namespace {

using http::BoundedServer;
using http::ConnectionPhase;

// Prometheus scrapes over one connection at a time, and a scrape takes milliseconds: a few
// threads are plenty. 64 connections and 4 threads bound what a flood of connections takes
// (descriptors, threads), whatever RLIMIT_NOFILE is; slow and idle clients give way to a new one.
http::ServerLimits metrics_limits()
{
    http::ServerLimits limits;
    limits.deadlines.idle = std::chrono::seconds(5);
    limits.deadlines.what = "metrics client connection";
    limits.max_threads = 4;
    limits.max_connections = 64;
    limits.max_header_bytes = 16 << 10;
    limits.max_header_lines = 64;
    limits.max_body = 4 << 10;
    return limits;
}

void enter(ConnectionPhase phase)
{
    if (auto* x = BoundedServer::current())
        x->enter(phase);
}

} // namespace

struct MetricsListener::State {
    State(const Metrics& m, ListenAddress a) : metrics(m), address(std::move(a)) {}
    const Metrics& metrics;
    ListenAddress address;
    BoundedServer svr{metrics_limits()};
    int fd = -1;
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
    s.svr.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
        enter(ConnectionPhase::Handling);
        try {
            res.set_content(s.metrics.scrape(), exposition_content_type);
        } catch (const std::exception& e) {
            res.status = 500;
            res.set_content(fmt::format("scrape failed: {}\n", e.what()), "text/plain");
        }
        enter(ConnectionPhase::Writing);
    });
    // What httplib answers itself (malformed, too large, no such path) says why, in plain text.
    s.svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                    httplib::Response& res) {
        if (!res.body.empty())
            return httplib::Server::HandlerResponse::Unhandled;
        if (auto* x = BoundedServer::current(); x && res.status != 404)
            x->close_after = true; // where the next request would begin is unknown
        std::string message =
            res.status == 404 ? fmt::format("{} {}: not found (this port serves GET /metrics)", req.method, req.path)
                              : fmt::format("HTTP error {} on {} {}", res.status, req.method, req.path);
        if (auto refusal = BoundedServer::header_refusal(res))
            message = *refusal;
        res.set_content(message + "\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
    }));
    try {
        s.fd = s.svr.bind_tcp(s.address.host, s.address.port);
    } catch (const Error& e) {
        throw Error(e.code().value(), fmt::format("metrics: {}", e.what()));
    }
    common::log_line(common::LogLevel::Info,
                     fmt::format("serving metrics on http://{}:{}/metrics", s.address.host, s.address.port));
    serve(s.svr, s.fd, true);
}

void MetricsListener::release(bool stopped, bool)
{
    if (!stopped)
        common::log_line(common::LogLevel::Error, "metrics: the listener stopped accepting; exiting");
}

} // namespace buttervolume::metrics
