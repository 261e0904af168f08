// SPDX-License-Identifier: Apache-2.0
// BoundedServer: the one cpp-httplib server every listener uses, with every limit a hostile client meets.
#pragma once

#include "http/client_stream.hpp"
#include "http/connections.hpp"

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>

namespace buttervolume::http {

/// What one listener allows a client.
struct ServerLimits {
    /// How long a connection may wait, send its request, and read its reply.
    ConnectionLimits deadlines;
    /// Threads serving connections (started as connections need them).
    std::size_t max_threads = 64;
    /// Connections open at once, served or waiting for a thread; past it the oldest idle or
    /// slow one is cut (ConnectionTable::make_space). Well below RLIMIT_NOFILE's 1,024, so the
    /// other listener, the scheduler and the pool always have descriptors left.
    std::size_t max_connections = 256;
    /// A request's line and headers, in bytes and in lines: past either, 431 and the connection closes.
    std::size_t max_header_bytes = 32 << 10;
    std::size_t max_header_lines = 100;
    /// A request's body, in bytes (413 past it).
    std::size_t max_body = 1 << 20;
};

/// The connection a server thread is serving, for the handlers httplib calls on that thread.
struct Exchange {
    const ServerLimits& limits;
    ConnectionTable& table;
    ConnectionTable::Connection* connection;
    ClientStream& stream;
    bool close_after = false; ///< the bytes that follow are no request: answer, then close

    /// Enters a phase of the connection (ConnectionTable::set_phase).
    void enter(ConnectionPhase phase) { table.set_phase(connection, phase); }
    /// True once the table cut the connection: no one is left to answer.
    bool cut() const { return table.was_cut(connection); }
};

/// httplib::Server with an accept loop of its own: every connection is in a ConnectionTable
/// from its accept on (deadlines per phase, the oldest idle one cut when a thread or a
/// connection slot is needed), threads grow as connections need them (ElasticTaskQueue), and
/// a request's headers are bounded in bytes and lines. Routes and handlers are httplib's. A
/// reply to an Exchange marked close_after says Connection: close (a post-routing handler this
/// class sets: do not set another).
class BoundedServer : public httplib::Server {
public:
    explicit BoundedServer(ServerLimits limits);
    ~BoundedServer() override;
    BoundedServer(const BoundedServer&) = delete;
    BoundedServer& operator=(const BoundedServer&) = delete;

    /// Binds and listens on a TCP address; the listening socket, which the caller then owns.
    /// Throws Error naming the address when it cannot (in use, not an address of this host).
    int bind_tcp(const std::string& host, int port);

    /// Accepts on listening_fd and serves until halt(); then lets the requests being handled
    /// finish and returns once every connection is closed. owned: listening_fd is closed as soon
    /// as accepting ends, so that a client connecting then is refused, not left unanswered (the
    /// caller must not close it); otherwise (a socket systemd passed, which must keep
    /// listening) the caller closes its copy. False when accepting failed otherwise.
    bool serve(int listening_fd, bool owned);
    /// Makes serve() stop accepting and return; idle and slow connections are cut (within
    /// the stop grace). Safe from any thread, before serve() too.
    void halt();

    /// The connections (for tests and the log).
    const ConnectionTable& connections() const { return table_; }

    /// The exchange of the calling thread, inside a handler; null elsewhere.
    static Exchange* current();

    /// When the current request's headers went over the limits: sets 431 on res, makes the reply
    /// the connection's last, and returns what to tell the client. For error handlers.
    static std::optional<std::string> header_refusal(httplib::Response& res);

private:
    bool process_and_close_socket(socket_t sock) override;
    bool serve_connection(ConnectionTable::Connection* conn, int sock);

    const ServerLimits limits_;
    ConnectionTable table_;
    std::atomic<bool> halted_{false};
    int wake_fd_ = -1; // an eventfd: halt() wakes the accept loop's poll(2)
};

} // namespace buttervolume::http
