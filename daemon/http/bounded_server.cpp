// SPDX-License-Identifier: Apache-2.0
// The bounded server: its accept loop, the loop of one connection, and the header refusal.
#include "http/bounded_server.hpp"

#include "common/log.hpp"
#include "http/task_queue.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace buttervolume::http {

namespace {

using Clock = std::chrono::steady_clock;
using common::LogLevel;

thread_local Exchange* current_exchange = nullptr;

std::chrono::milliseconds to_ms(time_t sec, time_t usec)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::seconds(sec) +
                                                                 std::chrono::microseconds(usec));
}

// accept(2) errors that concern one connection (it left before we took it), not the socket.
bool transient(int err)
{
    return err == EINTR || err == EAGAIN || err == ECONNABORTED || err == EPROTO || err == EPERM || err == ENETDOWN ||
           err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP ||
           err == ENETUNREACH;
}

// Out of descriptors or memory: the pending connection stays in the backlog until some close.
bool exhausted(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

} // namespace

BoundedServer::BoundedServer(ServerLimits limits) : limits_(limits), table_(limits.deadlines)
{
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0)
        throw Error(errno, fmt::format("http server: eventfd: {}", std::strerror(errno)));
    // What the reply's Keep-Alive header announces: the table's idle deadline, which is what holds.
    auto idle = std::chrono::duration_cast<std::chrono::seconds>(limits_.deadlines.idle).count();
    set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(idle)));
    set_keep_alive_max_count(1000);
    set_payload_max_length(limits_.max_body);
    // The reply to a request whose connection cannot go on says so.
    set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
        if (current_exchange && current_exchange->close_after) {
            res.headers.erase("Keep-Alive");
            if (!res.has_header("Connection"))
                res.set_header("Connection", "close");
        }
    });
}

BoundedServer::~BoundedServer()
{
    ::close(wake_fd_);
}

int BoundedServer::bind_tcp(const std::string& host, int port)
{
    if (!bind_to_port(host, port))
        throw Error(EADDRINUSE,
                    fmt::format("cannot listen on {}:{} (address in use, or not an address of this host)", host, port));
    int fd = svr_sock_.exchange(INVALID_SOCKET);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    // httplib listens with a backlog of 5: a burst of connections would have the kernel drop
    // the SYN of the next one (a scrape), which then waits a second for its retransmission.
    ::listen(fd, SOMAXCONN);
    return fd;
}

void BoundedServer::halt()
{
    halted_ = true;
    table_.stop();
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

bool BoundedServer::serve(int listening_fd, bool owned)
{
    // Named, so that a tool tracing the server's threads (tests/fault) can tell it from the
    // workers: it waits in poll(2), not in accept(2) as httplib's loop did.
    ::pthread_setname_np(::pthread_self(), "bv-accept");
    table_.start();
    bool clean = true;
    {
        ElasticTaskQueue queue(limits_.max_threads, [this](std::size_t waiting) { table_.make_room(waiting); });
        bool out_of_fds = false;
        while (!halted_) {
            pollfd fds[2] = {{listening_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
                clean = false;
                break;
            }
            if (halted_)
                break;
            if (fds[0].revents & (POLLERR | POLLNVAL)) {
                clean = false;
                break;
            }
            if (!(fds[0].revents & POLLIN))
                continue;
            // At the limit with nothing to cut, the next connection waits in the kernel's backlog
            // (it costs no descriptor there) until one closes, rather than being refused.
            if (!table_.make_space(limits_.max_connections)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            int fd = ::accept4(listening_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0 && exhausted(errno)) {
                // Other parts of the daemon hold descriptors too; wait for one to close, and
                // say so once, not a thousand times a second.
                if (!out_of_fds)
                    common::log_line(LogLevel::Error,
                                     fmt::format("accepting a connection failed: {}; retrying", std::strerror(errno)));
                out_of_fds = true;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            if (fd < 0 && transient(errno))
                continue;
            if (fd < 0) {
                common::log_line(LogLevel::Error, fmt::format("accept: {}", std::strerror(errno)));
                clean = false;
                break;
            }
            out_of_fds = false;
            auto* conn = table_.open(fd, false);
            queue.enqueue([this, conn, fd] {
                table_.attach(conn);
                serve_connection(conn, fd);
            });
        }
        if (owned)
            ::close(listening_fd);
        // Connections accepted before the stop are still served (the table cuts the idle
        // ones): the queue's shutdown runs every job left.
        table_.stop();
        queue.shutdown();
    }
    table_.join();
    return clean;
}

// Only for httplib's own listen(), which nothing calls: serve() is the accept loop.
bool BoundedServer::process_and_close_socket(socket_t sock)
{
    return serve_connection(table_.open(sock), sock);
}

// httplib's own loop (process_server_socket) with three changes: every connection is in the
// ConnectionTable, which cuts it past its phase's deadline or to make room for a new one; the
// stream outlives one request (ClientStream) and bounds its headers; and the wait for a request
// is one poll(2) that a cut ends, not httplib's 10 ms polling loop that nothing can end.
bool BoundedServer::serve_connection(ConnectionTable::Connection* conn, int sock)
{
    ClientStream stream(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                        to_ms(write_timeout_sec_, write_timeout_usec_));
    Exchange exchange{limits_, table_, conn, stream};
    // Whatever ends this (an exception included), the table forgets the connection before its
    // socket is closed: it must never shut down a reused fd.
    struct Release {
        ConnectionTable& table;
        ConnectionTable::Connection* conn;
        int sock;
        ~Release()
        {
            current_exchange = nullptr;
            table.close(conn);
            httplib::detail::shutdown_socket(sock);
            httplib::detail::close_socket(sock);
        }
    } release{table_, conn, sock};
    current_exchange = &exchange;
    bool ret = false;
    for (std::size_t count = 0; count < keep_alive_max_count_; ++count) {
        // A stop ends keep-alive; the first request of a connection accepted before the stop is
        // still read (within the table's stop grace) and answered.
        if (count > 0 && (halted_ || table_.stopping()))
            break;
        if (count > 0)
            table_.set_phase(conn, ConnectionPhase::Waiting);
        // The table's idle deadline ends this wait (a cut makes the socket readable).
        if (table_.was_cut(conn) || !stream.wait_readable(limits_.deadlines.idle + std::chrono::seconds(1)) ||
            table_.was_cut(conn))
            break;
        table_.set_phase(conn, ConnectionPhase::Reading);
        stream.begin_request(limits_.max_header_bytes, limits_.max_header_lines);
        bool closed = false;
        ret = process_request(stream, count + 1 == keep_alive_max_count_, closed, nullptr);
        if (!ret || closed || exchange.close_after || table_.was_cut(conn))
            break;
    }
    return ret;
}

Exchange* BoundedServer::current()
{
    return current_exchange;
}

std::optional<std::string> BoundedServer::header_refusal(httplib::Response& res)
{
    Exchange* x = current_exchange;
    if (!x || !x->stream.headers_too_large())
        return std::nullopt;
    x->close_after = true;
    res.status = 431;
    return fmt::format("the request's headers are over {} bytes or {} lines", x->limits.max_header_bytes,
                       x->limits.max_header_lines);
}

} // namespace buttervolume::http
