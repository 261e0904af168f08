// SPDX-License-Identifier: Apache-2.0
// The connection table: deadlines cut late clients, make_room cuts the slowest, stop cuts idle ones.
#include "../../catch.hpp"

#include "http/connections.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace buttervolume::http;
using namespace std::chrono_literals;

namespace {

// A socket pair: the table holds the server end; the client end reads end-of-file once cut.
struct Pair {
    int server = -1, client = -1;
    Pair()
    {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        server = fds[0];
        client = fds[1];
    }
    ~Pair()
    {
        ::close(server);
        ::close(client);
    }
    bool cut() const
    {
        char c;
        return ::recv(client, &c, 1, MSG_DONTWAIT) == 0;
    }
};

bool cut_within(const Pair& p, std::chrono::milliseconds limit)
{
    auto end = std::chrono::steady_clock::now() + limit;
    while (!p.cut() && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(10ms);
    return p.cut();
}

} // namespace

TEST_CASE("connections: a request not whole by its deadline is cut, one being handled never", "[connections]")
{
    ConnectionTable table({.request = 300ms});
    table.start();
    Pair slow, busy;
    auto* s = table.open(slow.server);
    auto* b = table.open(busy.server);
    table.set_phase(s, ConnectionPhase::Reading);
    table.set_phase(b, ConnectionPhase::Handling);
    CHECK(cut_within(slow, 3000ms));
    CHECK(table.was_cut(s));
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(busy.cut());
    CHECK_FALSE(table.was_cut(b));
    table.close(s);
    table.close(b);
    CHECK(table.size() == 0);
}

TEST_CASE("connections: make_room cuts the longest waiting or reading connection, not a young one", "[connections]")
{
    ConnectionTable table({.yield_after = 500ms});
    Pair handled, oldest, older, young;
    auto* h = table.open(handled.server);
    table.set_phase(h, ConnectionPhase::Handling);
    auto* o1 = table.open(oldest.server);
    table.set_phase(o1, ConnectionPhase::Reading);
    auto* o2 = table.open(older.server);
    std::this_thread::sleep_for(600ms);
    auto* y = table.open(young.server);
    table.set_phase(y, ConnectionPhase::Reading);

    // One connection waits for a thread: the one reading longest gives way.
    CHECK(table.make_room(1) == 1);
    CHECK(oldest.cut());
    CHECK_FALSE(older.cut());
    // Its thread is coming free: asked again, nothing more is cut.
    CHECK(table.make_room(1) == 0);
    // Two wait: the Waiting one goes too; the young and the handled ones never.
    CHECK(table.make_room(2) == 1);
    CHECK(older.cut());
    CHECK(table.make_room(4) == 0);
    CHECK_FALSE(young.cut());
    CHECK_FALSE(handled.cut());
    for (auto* c : {h, o1, o2, y})
        table.close(c);
}

TEST_CASE("connections: at stop an idle kept-alive connection is cut at once, a new one gets the grace",
          "[connections]")
{
    ConnectionTable table({.stop_grace = 600ms});
    table.start();
    Pair kept, fresh, busy;
    auto* k = table.open(kept.server);
    table.set_phase(k, ConnectionPhase::Handling);
    table.set_phase(k, ConnectionPhase::Writing);
    table.set_phase(k, ConnectionPhase::Waiting);
    auto* f = table.open(fresh.server);
    auto* b = table.open(busy.server);
    table.set_phase(b, ConnectionPhase::Handling);
    table.stop();
    CHECK(table.stopping());
    CHECK(cut_within(kept, 300ms));
    CHECK_FALSE(fresh.cut());
    CHECK(cut_within(fresh, 3000ms));
    CHECK_FALSE(busy.cut());
    for (auto* c : {k, f, b})
        table.close(c);
}

TEST_CASE("connections: make_space keeps at most max open, cutting the oldest idle one, never one being handled",
          "[connections]")
{
    ConnectionTable table;
    Pair handled, idle, queued, late;
    auto* h = table.open(handled.server);
    table.set_phase(h, ConnectionPhase::Handling);
    auto* i = table.open(idle.server);
    std::this_thread::sleep_for(10ms);
    // Accepted, no thread yet: cut like any other, but no thread comes free for it.
    auto* q = table.open(queued.server, false);
    CHECK(table.make_space(4));
    CHECK_FALSE(idle.cut());
    // Three open, max 3: the one waiting longest gives way.
    CHECK(table.make_space(3));
    CHECK(idle.cut());
    CHECK_FALSE(queued.cut());
    CHECK(table.make_room(1) == 0); // the queued one frees no thread
    auto* l = table.open(late.server);
    table.set_phase(l, ConnectionPhase::Handling);
    // Three uncut again: the queued one goes, then nothing is left to cut.
    CHECK(table.make_space(3));
    CHECK(queued.cut());
    CHECK_FALSE(table.make_space(2));
    CHECK_FALSE(handled.cut());
    CHECK_FALSE(late.cut());
    table.attach(q);
    for (auto* c : {h, i, q, l})
        table.close(c);
    CHECK(table.size() == 0);
}
