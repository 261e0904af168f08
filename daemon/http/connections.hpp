// SPDX-License-Identifier: Apache-2.0
// A listener's client connections: what each is doing, its deadline, and which one gives way.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace buttervolume::http {

/// What a client connection is doing, as far as its server thread is concerned.
enum class ConnectionPhase {
    Waiting,  ///< connected, or kept alive after a reply: no byte of the next request yet
    Reading,  ///< its request has begun: all of it must come before the request deadline
    Handling, ///< its request is being served: never cut
    Writing,  ///< its reply is being written: bounded, so a client that does not read cannot hold a thread
};

/// How long a connection may stay in each phase.
struct ConnectionLimits {
    /// Waiting for a request to begin (the keep-alive timeout).
    std::chrono::milliseconds idle{2000};
    /// From a request's first byte to its last. httplib's own read timeout starts again at every
    /// byte, so without this a client sending a byte every 200 ms holds its thread forever.
    std::chrono::milliseconds request{5000};
    /// Writing one reply.
    std::chrono::milliseconds reply{10000};
    /// After stop(): what a connection that has not sent its whole first request still gets.
    std::chrono::milliseconds stop_grace{1000};
    /// make_room() cuts only connections that have been Waiting or Reading this long: a client
    /// on a unix socket sends its request at once, so these are the slow ones, never one whose
    /// request is arriving as its thread picks it up.
    std::chrono::milliseconds yield_after{100};
    /// What the log calls a connection of this table ("client connection cut: ...").
    const char* what = "client connection";
};

/// The open client connections, each served by one thread from open() to close(). A connection
/// past its deadline is cut: its socket is shut down (never closed: its thread does that), so the
/// thread's read or write returns at once and the thread is free again. A watchdog thread checks
/// the deadlines; make_room() cuts the connection that has waited or read longest, for a new one
/// that no thread is left to serve: slow clients can never starve a quick request.
class ConnectionTable {
public:
    struct Connection;

    explicit ConnectionTable(ConnectionLimits limits = {});
    ~ConnectionTable();
    ConnectionTable(const ConnectionTable&) = delete;
    ConnectionTable& operator=(const ConnectionTable&) = delete;

    /// Starts the watchdog thread (once).
    void start();
    /// Stops the watchdog thread; call when no connection is left.
    void join();

    /// Registers a client socket, Waiting. on_thread: a thread serves it already; otherwise it
    /// waits for one (accepted, queued) until attach(). Never throws std::system_error.
    Connection* open(int fd, bool on_thread = true);
    /// A thread took a connection opened without one. Its deadline runs on: the time it waited
    /// for a thread counts.
    void attach(Connection* c);
    /// Forgets it; call before closing its socket.
    void close(Connection* c);
    /// Enters a phase; its deadline starts now.
    void set_phase(Connection* c, ConnectionPhase phase);
    /// True once the table has cut it (deadline, make_room or stop): what its socket returned
    /// since is no data.
    bool was_cut(const Connection* c) const;

    /// Cuts Waiting or Reading connections, those in that phase longest first, until `waiting`
    /// connections that no thread serves yet can have one (connections cut but not closed yet
    /// count as a thread coming free). Returns how many it cut.
    std::size_t make_room(std::size_t waiting);

    /// Before a new connection is accepted: true when it may be, keeping at most max connections
    /// that are not cut. At max, cuts the one that has waited longest having sent nothing, else
    /// the one reading its request longest (its socket closes when its thread gets to it); false
    /// (do not accept yet) when none can be cut or 2 * max sockets are still open: a flood of
    /// idle connections can never take the daemon's descriptors.
    bool make_space(std::size_t max);

    /// The daemon stops: connections kept alive after a reply are cut now, those still sending
    /// their first request get stop_grace at most; requests being handled finish and are answered.
    void stop();
    bool stopping() const;

    /// Connections open now (for tests and the log).
    std::size_t size() const;

private:
    void cut_locked(Connection& c);
    Connection* victim_locked(std::chrono::steady_clock::time_point now);
    void relieve_locked(std::vector<std::string>& lines);
    void update_deadline_locked(Connection& c);
    void watch();

    const ConnectionLimits limits_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::list<Connection> open_;
    std::size_t cut_open_ = 0;   // cut on a thread, not closed yet: each is a thread about to come free
    std::size_t cut_total_ = 0;  // cut, not closed yet, on a thread or waiting for one
    std::size_t space_cuts_ = 0; // make_space() cuts not logged yet
    std::chrono::steady_clock::time_point space_logged_{};
    std::size_t waiting_ = 0; // the last make_room() demand, retried by the watchdog
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stopped_at_;
    bool quit_ = false;
    std::thread watchdog_;
};

} // namespace buttervolume::http
