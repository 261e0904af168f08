// SPDX-License-Identifier: Apache-2.0
// The connection table: phases and deadlines, a watchdog that cuts late connections, make_room and make_space.
#include "http/connections.hpp"

#include "common/log.hpp"

#include <fmt/format.h>

#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>

namespace buttervolume::http {

using Clock = std::chrono::steady_clock;
using common::LogLevel;

struct ConnectionTable::Connection {
    int fd;
    ConnectionPhase phase = ConnectionPhase::Waiting;
    Clock::time_point since = Clock::now();
    Clock::time_point deadline = Clock::time_point::max();
    bool served = false; // a request of it reached its handler: Waiting now means kept alive
    bool cut = false;
    bool on_thread = true;
    std::list<Connection>::iterator self;
};

namespace {

// The watchdog's period: how late past its deadline a connection may be cut.
constexpr std::chrono::milliseconds tick{50};

double seconds(Clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

std::string describe(ConnectionPhase phase, bool served, Clock::duration in_phase)
{
    switch (phase) {
    case ConnectionPhase::Waiting:
        return fmt::format("{} for {:.1f} s", served ? "kept alive with no new request" : "connected, sent nothing",
                           seconds(in_phase));
    case ConnectionPhase::Reading:
        return fmt::format("its request was not complete {:.1f} s after its first byte", seconds(in_phase));
    case ConnectionPhase::Handling: return "handling its request";
    case ConnectionPhase::Writing: return fmt::format("its reply was not read within {:.1f} s", seconds(in_phase));
    }
    return "";
}

} // namespace

ConnectionTable::ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

ConnectionTable::~ConnectionTable()
{
    join();
}

void ConnectionTable::start()
{
    if (watchdog_.joinable())
        return;
    watchdog_ = std::thread([this] { watch(); });
    // Named, so that a tool tracing the server's threads (tests/fault) can tell it from them.
    ::pthread_setname_np(watchdog_.native_handle(), "bv-watchdog");
}

void ConnectionTable::join()
{
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable())
        watchdog_.join();
}

ConnectionTable::Connection* ConnectionTable::open(int fd, bool on_thread)
{
    std::lock_guard lock(mutex_);
    Connection& c = open_.emplace_back(Connection{fd});
    c.on_thread = on_thread;
    c.self = std::prev(open_.end());
    update_deadline_locked(c);
    if (open_.size() == 1)
        wake_.notify_all(); // the watchdog sleeps while there is no connection
    return &c;
}

void ConnectionTable::attach(Connection* c)
{
    std::lock_guard lock(mutex_);
    c->on_thread = true;
    if (c->cut)
        ++cut_open_; // its thread is about to come free
}

void ConnectionTable::close(Connection* c)
{
    std::lock_guard lock(mutex_);
    if (c->cut) {
        --cut_total_;
        if (c->on_thread)
            --cut_open_;
    }
    open_.erase(c->self);
}

void ConnectionTable::set_phase(Connection* c, ConnectionPhase phase)
{
    std::lock_guard lock(mutex_);
    c->phase = phase;
    c->since = Clock::now();
    if (phase == ConnectionPhase::Handling)
        c->served = true;
    update_deadline_locked(*c);
}

bool ConnectionTable::was_cut(const Connection* c) const
{
    std::lock_guard lock(mutex_);
    return c->cut;
}

void ConnectionTable::update_deadline_locked(Connection& c)
{
    switch (c.phase) {
    case ConnectionPhase::Waiting: c.deadline = c.since + limits_.idle; break;
    case ConnectionPhase::Reading: c.deadline = c.since + limits_.request; break;
    case ConnectionPhase::Handling: c.deadline = Clock::time_point::max(); break;
    case ConnectionPhase::Writing: c.deadline = c.since + limits_.reply; break;
    }
    if (stopping_ && (c.phase == ConnectionPhase::Waiting || c.phase == ConnectionPhase::Reading))
        c.deadline = c.served && c.phase == ConnectionPhase::Waiting
                         ? stopped_at_
                         : std::min(c.deadline, stopped_at_ + limits_.stop_grace);
}

void ConnectionTable::cut_locked(Connection& c)
{
    c.cut = true;
    ++cut_total_;
    if (c.on_thread)
        ++cut_open_;
    // shutdown, not close: the fd stays this connection's until its thread closes it, so it can
    // never be another socket by then. A read or poll blocked on it returns at once.
    ::shutdown(c.fd, SHUT_RDWR);
}

std::size_t ConnectionTable::make_room(std::size_t waiting)
{
    std::vector<std::string> lines;
    {
        std::lock_guard lock(mutex_);
        waiting_ = waiting;
        relieve_locked(lines);
    }
    for (const auto& l : lines)
        common::log_line(LogLevel::Warn, l);
    return lines.size();
}

void ConnectionTable::relieve_locked(std::vector<std::string>& lines)
{
    auto now = Clock::now();
    while (waiting_ > cut_open_) {
        Connection* oldest = nullptr;
        for (auto& c : open_)
            if (!c.cut && c.on_thread && (c.phase == ConnectionPhase::Waiting || c.phase == ConnectionPhase::Reading) &&
                now - c.since >= limits_.yield_after && (!oldest || c.since < oldest->since))
                oldest = &c;
        if (!oldest)
            return;
        lines.push_back(fmt::format("{} cut to serve a new one (every thread was taken): {}", limits_.what,
                                    describe(oldest->phase, oldest->served, now - oldest->since)));
        cut_locked(*oldest);
    }
}

// The connection a new one replaces: the one waiting longest that has sent nothing (an idle
// connection, or one queued for a thread with no request in its socket), else the one reading
// its request longest if past yield_after (a slow one). Never a queued request that has
// arrived whole or is arriving: under a flood of idle connections, a scrape that came before
// them must not be what gives way.
ConnectionTable::Connection* ConnectionTable::victim_locked(Clock::time_point now)
{
    std::vector<const Connection*> has_bytes;
    for (;;) {
        Connection* oldest = nullptr;
        for (auto& c : open_)
            if (!c.cut && c.phase == ConnectionPhase::Waiting && (!oldest || c.since < oldest->since) &&
                std::find(has_bytes.begin(), has_bytes.end(), &c) == has_bytes.end())
                oldest = &c;
        if (!oldest)
            break;
        int pending = 0;
        if (::ioctl(oldest->fd, FIONREAD, &pending) < 0 || pending == 0)
            return oldest;
        has_bytes.push_back(oldest);
    }
    Connection* slowest = nullptr;
    for (auto& c : open_)
        if (!c.cut && c.phase == ConnectionPhase::Reading && now - c.since >= limits_.yield_after &&
            (!slowest || c.since < slowest->since))
            slowest = &c;
    return slowest;
}

bool ConnectionTable::make_space(std::size_t max)
{
    std::string line;
    bool ok = true;
    {
        std::lock_guard lock(mutex_);
        if (open_.size() - cut_total_ < max)
            return true;
        auto now = Clock::now();
        Connection* victim = open_.size() < 2 * max ? victim_locked(now) : nullptr;
        if (victim)
            cut_locked(*victim);
        ok = victim != nullptr;
        ++space_cuts_;
        // A flood makes one of these per connection: one line a second says it all.
        if (now - space_logged_ >= std::chrono::seconds(1)) {
            line = fmt::format("{}s at the limit of {} open: {} new ones since the last report closed an older idle "
                               "or slow one (or waited for one to close)",
                               limits_.what, max, space_cuts_);
            space_cuts_ = 0;
            space_logged_ = now;
        }
    }
    if (!line.empty())
        common::log_line(LogLevel::Warn, line);
    return ok;
}

void ConnectionTable::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        stopped_at_ = Clock::now();
        for (auto& c : open_)
            update_deadline_locked(c);
    }
    wake_.notify_all();
}

bool ConnectionTable::stopping() const
{
    std::lock_guard lock(mutex_);
    return stopping_;
}

std::size_t ConnectionTable::size() const
{
    std::lock_guard lock(mutex_);
    return open_.size();
}

void ConnectionTable::watch()
{
    std::unique_lock lock(mutex_);
    while (!quit_) {
        if (open_.empty())
            wake_.wait(lock, [this] { return quit_ || !open_.empty(); });
        else
            wake_.wait_for(lock, tick);
        std::vector<std::pair<LogLevel, std::string>> lines;
        auto now = Clock::now();
        for (auto& c : open_) {
            if (c.cut || now < c.deadline)
                continue;
            // At a stop, closing an idle connection is what stopping means, not an event.
            bool quiet = stopping_ && c.phase == ConnectionPhase::Waiting;
            lines.emplace_back(quiet ? LogLevel::Debug : LogLevel::Warn,
                               fmt::format("{} cut{}: {}", limits_.what, stopping_ ? " at stop" : "",
                                           describe(c.phase, c.served, now - c.since)));
            cut_locked(c);
        }
        // Connections that waited for a thread when none could be cut yet (too young, or all
        // handling): try again now.
        std::vector<std::string> room;
        relieve_locked(room);
        lock.unlock();
        for (const auto& [level, line] : lines)
            common::log_line(level, line);
        for (const auto& line : room)
            common::log_line(LogLevel::Warn, line);
        lock.lock();
    }
}

} // namespace buttervolume::http
