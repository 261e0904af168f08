// SPDX-License-Identifier: Apache-2.0
// The plugin daemon: cpp-httplib on the plugin socket, one log line per request, and a
// shutdown on SIGTERM/SIGINT that lets requests in flight finish.
#include "plugin/server.hpp"

#include "cli/command.hpp"
#include "common/log.hpp"
#include "plugin/handlers.hpp"
#include "plugin/socket.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <httplib.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace buttervolume::plugin {

namespace {

using Clock = std::chrono::steady_clock;

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

// httplib's ThreadPool has a fixed number of threads, and each keep-alive connection holds
// one until it goes idle: with Docker opening a connection per concurrent request, a fixed
// pool of 8 would queue the 9th container start behind the others' keep-alive timeouts.
// This queue grows to max_threads as connections need it, and keeps the threads it made.
class ElasticTaskQueue : public httplib::TaskQueue {
public:
    explicit ElasticTaskQueue(std::size_t max_threads) : max_threads_(max_threads) {}
    ~ElasticTaskQueue() override { shutdown(); }

    void enqueue(std::function<void()> fn) override
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(std::move(fn));
        if (jobs_.size() > idle_ && threads_.size() < max_threads_)
            threads_.emplace_back([this] { work(); });
        else
            cond_.notify_one();
    }

    // Runs every queued job, then joins the threads: requests in flight finish.
    void shutdown() override
    {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cond_.notify_all();
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

private:
    void work()
    {
        std::unique_lock lock(mutex_);
        for (;;) {
            ++idle_;
            cond_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
            --idle_;
            if (jobs_.empty())
                return;
            std::function<void()> fn = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            fn();
            lock.lock();
        }
    }

    const std::size_t max_threads_;
    std::mutex mutex_;
    std::condition_variable cond_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

constexpr std::size_t max_threads = 64;

void log_request(std::string_view endpoint, const Reply& reply, double ms, std::string_view body)
{
    cli::LogLevel level = reply.status == 200 ? (reply.note.empty() ? cli::LogLevel::Info : cli::LogLevel::Warn)
                          : reply.status >= 500 ? cli::LogLevel::Error
                                                : cli::LogLevel::Warn;
    if (!cli::log_enabled(level) && !cli::log_enabled(cli::LogLevel::Debug))
        return;
    std::string line = fmt::format("{} volume={} result={} {:.3f}ms", endpoint,
                                   reply.volume.empty() ? "-" : cli::printable(reply.volume),
                                   reply.status == 200 ? "ok" : fmt::format("error status={}", reply.status), ms);
    if (!reply.error.empty())
        line += fmt::format(" err=\"{}\"", cli::printable(reply.error));
    if (!reply.note.empty())
        line += fmt::format(" note=\"{}\"", cli::printable(reply.note));
    if (cli::log_enabled(cli::LogLevel::Debug))
        line += fmt::format(" request={} reply={}", cli::printable(body), cli::printable(reply.body));
    cli::log_line(cli::log_enabled(level) ? level : cli::LogLevel::Debug, line);
}

std::string json_error(std::string_view message)
{
    // Only httplib's own errors come here (bad HTTP, unknown method, body too large): short
    // fixed texts with nothing to escape but quotes and backslashes.
    std::string out = "{\"Err\":\"";
    for (char c : message) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return out + "\"}";
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
        std::string message = res.status == 404 ? fmt::format("{} {}: not found (the plugin API is POST /VolumeDriver.*)",
                                                               req.method, req.path)
                                                 : fmt::format("HTTP error {} on {} {}", res.status, req.method, req.path);
        res.set_content(json_error(message), content_type);
        cli::log_line(cli::LogLevel::Warn, fmt::format("{} volume=- result=error status={} err=\"{}\"",
                                                       cli::printable(req.path), res.status, cli::printable(message)));
        return httplib::Server::HandlerResponse::Handled;
    }));
}

} // namespace

int serve(Pool& pool, const ServerOptions& options)
{
    // Signals go to one waiting thread, not to whichever thread runs: block them before any
    // thread exists, so every server thread inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGHUP, SIG_IGN);

    std::optional<ListeningSocket> from_systemd = systemd_socket();
    ListeningSocket sock = from_systemd ? *from_systemd : bind_socket(options.socket);

    PluginHttpServer svr;
    configure(svr, pool);
    svr.adopt_listening_socket(sock.fd);
    if (from_systemd)
        svr.set_idle_interval(0, 200'000);

    std::atomic<bool> listen_returned{false};
    std::atomic<bool> stopping{false};
    std::thread waiter([&] {
        const timespec tick{0, 100'000'000};
        while (!listen_returned) {
            siginfo_t info;
            int sig = ::sigtimedwait(&stop_signals, &info, &tick);
            if (sig <= 0)
                continue;
            stopping = true;
            cli::log_line(cli::LogLevel::Info,
                          fmt::format("{} received: finishing requests in flight, then exiting", ::strsignal(sig)));
            // stop() acts only once the accept loop runs; a signal right at start waits for it.
            while (!svr.is_running() && !listen_returned)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if (from_systemd)
                svr.stop_keeping_socket();
            else
                svr.stop();
            return;
        }
    });

    cli::log_line(cli::LogLevel::Info, fmt::format("serving pool {} on {}{}", pool.paths().root.native(),
                                                   sock.shown.native(), from_systemd ? " (from systemd)" : ""));
    bool clean = svr.listen_after_bind();
    listen_returned = true;
    waiter.join();
    if (from_systemd)
        ::close(sock.fd); // our copy only: systemd keeps listening and starts us on the next connection
    remove_socket_file(sock);
    if (!stopping) {
        cli::log_line(cli::LogLevel::Error, fmt::format("accepting on {} failed (clean={}); exiting",
                                                        sock.shown.native(), clean));
        return 1;
    }
    cli::log_line(cli::LogLevel::Info, "stopped");
    return 0;
}

} // namespace buttervolume::plugin
