// SPDX-License-Identifier: Apache-2.0
// The plugin server: cpp-httplib on the plugin socket, one log line per request, and a stop
// that lets requests in flight finish.
#include "plugin/server.hpp"

#include "common/error_json.hpp"
#include "common/log.hpp"
#include "common/terminal.hpp"
#include "plugin/handlers.hpp"
#include "plugin/socket.hpp"
#include "plugin/task_queue.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <httplib.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace buttervolume::plugin {

namespace {

using Clock = std::chrono::steady_clock;
using common::LogLevel;

constexpr const char* content_type = "application/vnd.docker.plugins.v1+json";

// httplib::Server can bind only by itself; svr_sock_ is protected, and handing it a socket
// we bound (or systemd passed) lets listen_after_bind() serve it unchanged.
class PluginHttpServer : public httplib::Server {
public:
    void adopt_listening_socket(int fd) { svr_sock_ = fd; }

    // Server::stop() shuts the listening socket down, which for a socket systemd passed
    // would also stop it listening for systemd (the kernel object is shared), and the next
    // connection would be refused instead of starting us again. Forgetting it is enough:
    // with an idle interval the accept loop notices within one interval.
    void stop_keeping_socket() { svr_sock_ = INVALID_SOCKET; }
};

constexpr std::size_t max_threads = 64;

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

void configure(PluginHttpServer& svr, Pool& pool)
{
    svr.new_task_queue = [] { return new ElasticTaskQueue(max_threads); };
    // Keep-alive connections are cheap on a unix socket, but each holds a thread while
    // idle, and shutdown waits for them: a short idle timeout keeps both small.
    svr.set_keep_alive_timeout(2);
    svr.set_keep_alive_max_count(1000);
    svr.set_payload_max_length(1 << 20);
    // Every endpoint is a POST of one JSON object; the route table is ours (handle_request),
    // so one catch-all route and no regex per endpoint. Docker sends no Content-Type and a
    // junk Host header: neither is looked at.
    auto serve_request = [&pool](const httplib::Request& req, httplib::Response& res) {
        auto start = Clock::now();
        Reply reply = handle_request(pool, req.path, req.body);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        res.status = reply.status;
        log_request(req.path, reply, ms, req.body);
        // Moved, not copied (set_content copies): List's reply can be megabytes.
        res.body = std::move(reply.body);
        res.set_header("Content-Type", content_type);
    };
    svr.Post(".*", serve_request);
    // httplib reads a POST without Content-Length until the client closes (or the read times
    // out, then answers 400): a bodiless POST (`curl -X POST`, an empty Activate) is served
    // here, before any body is read, as the empty body it is.
    svr.set_pre_routing_handler([serve_request](const httplib::Request& req, httplib::Response& res) {
        if (req.method != "POST" || req.has_header("Content-Length") || req.has_header("Transfer-Encoding"))
            return httplib::Server::HandlerResponse::Unhandled;
        serve_request(req, res);
        return httplib::Server::HandlerResponse::Handled;
    });
    // Whatever httplib answers itself (a GET, malformed HTTP, a body too large) still gets a
    // JSON Err, never an empty or HTML body (buttervolume#13).
    svr.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty())
            return httplib::Server::HandlerResponse::Unhandled;
        std::string message =
            res.status == 404
                ? fmt::format("{} {}: not found (the plugin API is POST /VolumeDriver.*)", req.method, req.path)
                : fmt::format("HTTP error {} on {} {}", res.status, req.method, req.path);
        res.set_content(common::error_json(message), content_type);
        common::log_line(LogLevel::Warn,
                         fmt::format("{} volume=- result=error status={} err=\"{}\"", common::printable(req.path),
                                     res.status, common::printable(message)));
        return httplib::Server::HandlerResponse::Handled;
    }));
}

} // namespace

struct PluginServer::State {
    Pool& pool;
    ServerOptions options;
    PluginHttpServer svr;
    std::optional<ListeningSocket> sock;
    bool from_systemd = false;
    std::thread thread;
    std::atomic<bool> listen_returned{false};
    std::atomic<bool> stopping{false};
    bool clean = false;
};

PluginServer::PluginServer(Pool& pool, ServerOptions options) : state_(new State{pool, std::move(options), {}, {}}) {}

PluginServer::~PluginServer()
{
    if (state_->thread.joinable()) {
        stop();
        join();
    }
}

void PluginServer::start()
{
    State& s = *state_;
    s.sock = systemd_socket();
    s.from_systemd = s.sock.has_value();
    if (!s.sock)
        s.sock = bind_socket(s.options.socket);
    configure(s.svr, s.pool);
    s.svr.adopt_listening_socket(s.sock->fd);
    if (s.from_systemd)
        s.svr.set_idle_interval(0, 200'000);
    common::log_line(LogLevel::Info, fmt::format("serving pool {} on {}{}", s.pool.paths().root.native(),
                                                 s.sock->shown.native(), s.from_systemd ? " (from systemd)" : ""));
    s.thread = std::thread([&s] {
        s.clean = s.svr.listen_after_bind();
        s.listen_returned = true;
    });
}

void PluginServer::stop()
{
    State& s = *state_;
    s.stopping = true;
    // stop() acts only once the accept loop runs; a stop right at start waits for it.
    while (!s.svr.is_running() && !s.listen_returned)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (s.from_systemd)
        s.svr.stop_keeping_socket();
    else
        s.svr.stop();
}

void PluginServer::join()
{
    State& s = *state_;
    if (s.thread.joinable())
        s.thread.join();
    if (s.from_systemd)
        ::close(s.sock->fd); // our copy only: systemd keeps listening and starts us on the next connection
    remove_socket_file(*s.sock);
    if (!s.stopping)
        common::log_line(LogLevel::Error,
                         fmt::format("accepting on {} failed (clean={}); exiting", s.sock->shown.native(), s.clean));
}

bool PluginServer::ended() const
{
    return state_->listen_returned && !state_->stopping;
}

} // namespace buttervolume::plugin
