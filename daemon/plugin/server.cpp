// SPDX-License-Identifier: Apache-2.0
// The plugin server: the plugin's routes on a BoundedServer, one log line per request, JSON errors.
#include "plugin/server.hpp"

#include "common/error_json.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/terminal.hpp"
#include "common/time_text.hpp"
#include "http/bounded_server.hpp"
#include "metrics/collector.hpp"
#include "plugin/handlers.hpp"
#include "plugin/socket.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/version.hpp>

#include <fmt/format.h>

#include <httplib.h>

#include <unistd.h>

#include <chrono>
#include <optional>

namespace buttervolume::plugin {

namespace {

using http::ConnectionPhase;

using Clock = std::chrono::steady_clock;
using common::LogLevel;

constexpr const char* content_type = "application/vnd.docker.plugins.v1+json";

constexpr std::size_t max_body = 1 << 20;
// A POST without Content-Length whose body follows: how long to wait for the client to close
// its sending side, which is all that can end such a body.
constexpr std::chrono::milliseconds unframed_body_wait{1000};

// Docker opens a connection per concurrent request and keeps it alive: up to 64 threads serve
// them. 512 connections at once is far more than Docker opens, and leaves most of the 1,024
// descriptors of a default RLIMIT_NOFILE to the rest of the daemon.
http::ServerLimits plugin_limits()
{
    http::ServerLimits limits;
    // Keep-alive connections are cheap on a unix socket, but each holds a thread while idle: a
    // short idle timeout keeps them few (and the table cuts them when a new connection needs the
    // thread, or at stop).
    limits.deadlines.idle = std::chrono::seconds(2);
    limits.max_threads = 64;
    limits.max_connections = 512;
    limits.max_body = max_body;
    return limits;
}

using http::BoundedServer;

void enter(ConnectionPhase phase)
{
    if (auto* x = BoundedServer::current())
        x->enter(phase);
}

void log_request(std::string_view endpoint, const Reply& reply, double ms, std::string_view body)
{
    LogLevel level = reply.status == 200   ? (reply.note.empty() ? LogLevel::Info : LogLevel::Warn)
                     : reply.status >= 500 ? LogLevel::Error
                                           : LogLevel::Warn;
    if (!common::log_enabled(level) && !common::log_enabled(LogLevel::Debug))
        return;
    std::string line = fmt::format("{} volume={} result={} {:.3f}ms", endpoint,
                                   reply.volume.empty() ? "-" : common::printable(reply.volume),
                                   reply.status == 200 ? "ok" : fmt::format("error status={}", reply.status), ms);
    if (!reply.error.empty())
        line += fmt::format(" err=\"{}\"", common::printable(reply.error));
    if (!reply.note.empty())
        line += fmt::format(" note=\"{}\"", common::printable(reply.note));
    if (common::log_enabled(LogLevel::Debug))
        line += fmt::format(" request={} reply={}", common::printable(body), common::printable(reply.body));
    common::log_line(common::log_enabled(level) ? level : LogLevel::Debug, line);
}

// GET /status: who serves the socket, for `buttervolume status`.
std::string status_json(const metrics::Metrics& meters)
{
    common::JsonWriter w;
    w.begin_object();
    w.field("Pid", std::uint64_t(::getpid()));
    w.field("Version", BUTTERVOLUME_VERSION);
    w.field("Started", common::rfc3339(meters.started()));
    w.field("StartedUnix", std::uint64_t(std::chrono::system_clock::to_time_t(meters.started())));
    w.end_object();
    return w.take();
}

// Requests the plugin could not take (no Content-Length, malformed) count as errors of their path.
void count_error(metrics::Metrics* meters, const std::string& path)
{
    if (meters)
        meters->requests().record(path, false, 0);
}

// A request refused before the plugin saw it: counted and logged as an error of its path.
void log_refused(metrics::Metrics* meters, const httplib::Request& req, int status, const std::string& message)
{
    count_error(meters, req.path);
    common::log_line(LogLevel::Warn, fmt::format("{} volume=- result=error status={} err=\"{}\"",
                                                 common::printable(req.path), status, common::printable(message)));
}

// Every endpoint is a POST of one JSON object; the route table is ours (handle_request), so one
// catch-all route and no regex per endpoint. Docker sends no Content-Type and a junk Host
// header: neither is looked at.
void serve_plugin_request(Pool& pool, metrics::Metrics* meters, const httplib::Request& req, httplib::Response& res)
{
    // The whole request is in: from here nothing may cut the connection until it is answered.
    enter(ConnectionPhase::Handling);
    auto start = Clock::now();
    Reply reply = handle_request(pool, req.path, req.body);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (meters)
        meters->requests().record(req.path, reply.status == 200, ms / 1000);
    res.status = reply.status;
    log_request(req.path, reply, ms, req.body);
    // Moved, not copied (set_content copies): List's reply can be megabytes.
    res.body = std::move(reply.body);
    res.set_header("Content-Type", content_type);
    enter(ConnectionPhase::Writing);
}

// A POST without Content-Length (or chunked Transfer-Encoding) has no body (RFC 9112 6.3), but
// httplib would read one until the client closes, and a client that closes only its sending
// side then got no reply. Served here, before httplib reads any body: nothing after the headers
// (`curl -X POST`, an empty Activate) is the empty body it is; bytes after them are a body only
// if the client then closes its sending side (`nc -N`), which alone can end it; otherwise the
// reply says what is missing and the connection closes, for those bytes are no next request
// either.
httplib::Server::HandlerResponse serve_unframed_post(Pool& pool, metrics::Metrics* meters, const httplib::Request& req,
                                                     httplib::Response& res)
{
    if (req.method != "POST" || req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
        return httplib::Server::HandlerResponse::Unhandled;
    http::Exchange* current = BoundedServer::current();
    if (!current || !current->stream.wait_readable(std::chrono::milliseconds(0))) {
        serve_plugin_request(pool, meters, req, res);
        return httplib::Server::HandlerResponse::Handled;
    }
    httplib::Request with_body = req;
    auto rest = current->stream.read_to_end(with_body.body, max_body, unframed_body_wait);
    if (current->cut())
        return httplib::Server::HandlerResponse::Handled; // no one to answer
    if (rest == http::ClientStream::Rest::End) {
        serve_plugin_request(pool, meters, with_body, res);
        return httplib::Server::HandlerResponse::Handled;
    }
    current->close_after = true;
    res.status = rest == http::ClientStream::Rest::TooLarge ? 413 : 411;
    std::string message =
        rest == http::ClientStream::Rest::TooLarge
            ? fmt::format("{} {}: the request body is over {} bytes", req.method, req.path, max_body)
            : fmt::format("{} {}: the request has a body but no Content-Length header; send Content-Length "
                          "(or close the sending side after the body)",
                          req.method, req.path);
    res.set_content(common::error_json(message), content_type);
    log_refused(meters, req, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
}

// Whatever httplib answers itself (a GET, malformed HTTP, a body too large) still gets a JSON
// Err, never an empty or HTML body (buttervolume#13).
httplib::Server::HandlerResponse answer_http_error(metrics::Metrics* meters, const httplib::Request& req,
                                                   httplib::Response& res)
{
    if (!res.body.empty())
        return httplib::Server::HandlerResponse::Unhandled;
    // A request httplib could not take (malformed, too large): where the next one would
    // begin is unknown, so this reply is the connection's last.
    http::Exchange* current = BoundedServer::current();
    if (current)
        current->close_after = true;
    std::string message = res.status == 404 ? fmt::format("{} {}: not found (the plugin API is POST /VolumeDriver.*)",
                                                          req.method, req.path)
                                            : fmt::format("HTTP error {} on {} {}", res.status, req.method, req.path);
    if (auto refusal = BoundedServer::header_refusal(res))
        message = *refusal;
    res.set_content(common::error_json(message), content_type);
    // A client that left (or was cut) halfway through its request gets this reply too, but
    // cannot read it: not a request that failed, and a cut is logged already.
    if (current && (current->stream.ended() || current->cut()) && !current->stream.headers_too_large()) {
        common::log_line(LogLevel::Debug, "client connection closed before its request was complete");
        return httplib::Server::HandlerResponse::Handled;
    }
    log_refused(meters, req, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
}

void configure(BoundedServer& svr, Pool& pool, metrics::Metrics* meters)
{
    svr.Post(".*", [&pool, meters](const httplib::Request& req, httplib::Response& res) {
        serve_plugin_request(pool, meters, req, res);
    });
    if (meters) {
        svr.Get("/metrics", [meters](const httplib::Request&, httplib::Response& res) {
            enter(ConnectionPhase::Handling);
            res.set_content(meters->scrape(), metrics::exposition_content_type);
            enter(ConnectionPhase::Writing);
        });
        svr.Get("/status", [meters](const httplib::Request&, httplib::Response& res) {
            res.set_content(status_json(*meters), "application/json");
        });
    }
    svr.set_pre_routing_handler([&pool, meters](const httplib::Request& req, httplib::Response& res) {
        return serve_unframed_post(pool, meters, req, res);
    });
    svr.set_error_handler(httplib::Server::HandlerWithResponse(
        [meters](const httplib::Request& req, httplib::Response& res) { return answer_http_error(meters, req, res); }));
}

} // namespace

struct PluginServer::State {
    State(Pool& p, ServerOptions o) : pool(p), options(std::move(o)) {}
    Pool& pool;
    ServerOptions options;
    BoundedServer svr{plugin_limits()};
    std::optional<ListeningSocket> sock;
    bool from_systemd = false;
};

PluginServer::PluginServer(Pool& pool, ServerOptions options)
    : state_(std::make_unique<State>(pool, std::move(options)))
{
}

PluginServer::~PluginServer()
{
    shut_down();
}

void PluginServer::start()
{
    State& s = *state_;
    s.sock = systemd_socket();
    s.from_systemd = s.sock.has_value();
    if (!s.sock)
        s.sock = bind_socket(s.options.socket);
    configure(s.svr, s.pool, s.options.metrics);
    common::log_line(LogLevel::Info, fmt::format("serving pool {} on {}{}", s.pool.paths().root.native(),
                                                 s.sock->shown.native(), s.from_systemd ? " (from systemd)" : ""));
    serve(s.svr, s.sock->fd, !s.from_systemd);
}

void PluginServer::release(bool stopped, bool clean)
{
    State& s = *state_;
    // Our copy only, never shut down: systemd keeps listening and starts us on the next
    // connection. A socket we bound was closed when accepting ended.
    if (s.from_systemd)
        ::close(s.sock->fd);
    remove_socket_file(*s.sock);
    if (!stopped)
        common::log_line(LogLevel::Error,
                         fmt::format("accepting on {} failed (clean={}); exiting", s.sock->shown.native(), clean));
}

} // namespace buttervolume::plugin
