// SPDX-License-Identifier: Apache-2.0
// The scheduler inside the real `buttervolume run`: a one-second tick, the test clock, restarts,
// hand edits, SIGTERM, and its settings.
#include "../catch.hpp"
#include "fixture.hpp"
#include "plugin_daemon.hpp"
#include "seams.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/snapshot.hpp>

#include <fmt/format.h>

#include <fstream>
#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

struct DaemonPool {
    BtrfsFixture fsx;
    fs::path root = fsx.root();
    fs::path sock = fsx.mnt() / "plugin.sock";
    fs::path clock = fsx.mnt() / "now";
    system_clock::time_point now = sys_days(year(2026) / 12 / 1) + hours(8);

    DaemonPool()
    {
        require_test_seams();
        fs::create_directories(root);
        Pool(root).create_volume("db");
        set_clock(now);
    }
    void set_clock(system_clock::time_point t)
    {
        now = t;
        std::ofstream(clock) << format_snapshot_timestamp(t) << "\n";
    }
    std::unique_ptr<PluginDaemon> start(const std::string& env = "")
    {
        return std::make_unique<PluginDaemon>(
            root, sock,
            PluginDaemon::Options{.shell_prefix = fmt::format("BUTTERVOLUME_TIMER=1; BUTTERVOLUME_TEST_NOW_FILE='{}'; {} "
                                                              "export BUTTERVOLUME_TIMER BUTTERVOLUME_TEST_NOW_FILE;",
                                                              clock.native(), env)});
    }
    std::size_t count() { return Pool(root).snapshots("db").size(); }
    // Waits (a few ticks at most) until count() reaches n.
    bool wait_count(std::size_t n)
    {
        for (int i = 0; i < 100; ++i) {
            if (count() >= n)
                return true;
            std::this_thread::sleep_for(milliseconds(100));
        }
        return false;
    }
    // Waits (a few ticks at most) until the daemon logged text.
    static bool wait_log(const PluginDaemon& d, const std::string& text)
    {
        for (int i = 0; i < 100; ++i) {
            if (d.log().find(text) != std::string::npos)
                return true;
            std::this_thread::sleep_for(milliseconds(100));
        }
        return false;
    }
    void write(const std::string& text) { std::ofstream(root / "volumes" / "db" / "data", std::ios::app) << text; }
    RunResult bv(std::vector<std::string> args)
    {
        args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
        return run(args, {fmt::format("BUTTERVOLUME_TEST_NOW_FILE={}", clock.native())});
    }
};

} // namespace

TEST_CASE("scheduler daemon: a job runs at the first tick, then when due and not before", "[scheduler-daemon][seams]")
{
    DaemonPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    auto d = p.start();
    REQUIRE(p.wait_count(1));
    p.write("x");
    p.set_clock(p.now + seconds(50));
    std::this_thread::sleep_for(milliseconds(2500));
    CHECK(p.count() == 1);
    p.set_clock(p.now + seconds(10));
    CHECK(p.wait_count(2));
    std::this_thread::sleep_for(milliseconds(2500));
    CHECK(p.count() == 2);
    auto list = p.bv({"scheduled", "--json"});
    CHECK(list.out.find("\"LastResult\":\"ok\"") != std::string::npos);
    CHECK(d->stop() == 0);
    INFO(d->log());
    CHECK(d->log().find("job db snapshot: ok") != std::string::npos);
}

TEST_CASE("scheduler daemon: a restart does not run again what ran; a week later each runs once", "[scheduler-daemon][seams]")
{
    DaemonPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "purge:1h:1d", "60", "db"}).status == 0);
    {
        auto d = p.start();
        REQUIRE(p.wait_count(1));
        REQUIRE(p.wait_log(*d, "job db purge:1h:1d: ok"));
        CHECK(d->stop() == 0);
    }
    p.write("x");
    p.set_clock(p.now + minutes(30));
    {
        auto d = p.start();
        std::this_thread::sleep_for(milliseconds(3000));
        CHECK(p.count() == 1);
        CHECK(d->stop() == 0);
    }
    p.set_clock(p.now + days(7));
    auto d = p.start();
    REQUIRE(p.wait_count(2));
    REQUIRE(p.wait_log(*d, "job db purge:1h:1d: ok"));
    std::this_thread::sleep_for(milliseconds(3000));
    // The new snapshot, the week-old one purged (older than 1d).
    CHECK(p.count() == 1);
    d->stop();
    auto log = d->log();
    INFO(log);
    auto runs = [&](const std::string& what) {
        std::size_t n = 0;
        for (auto pos = log.find(what); pos != std::string::npos; pos = log.find(what, pos + 1))
            ++n;
        return n;
    };
    CHECK(runs("job db snapshot: ok") == 1);
    CHECK(runs("job db purge:1h:1d: ok") == 1);
}

TEST_CASE("scheduler daemon: hand edits and the global pause are seen within a tick", "[scheduler-daemon][seams]")
{
    DaemonPool p;
    auto d = p.start();
    std::this_thread::sleep_for(milliseconds(1500));
    std::ofstream(p.root / "config" / "schedule.csv") << "db,snapshot,60\n";
    REQUIRE(p.wait_count(1));
    REQUIRE(p.bv({"scheduled", "pause"}).status == 0);
    p.write("x");
    p.set_clock(p.now + hours(2));
    std::this_thread::sleep_for(milliseconds(2500));
    CHECK(p.count() == 1);
    REQUIRE(p.bv({"scheduled", "resume"}).status == 0);
    CHECK(p.wait_count(2));
    CHECK(d->stop() == 0);
}

TEST_CASE("scheduler daemon: TIMER comes from the environment, else config.ini; a bad one stops run", "[scheduler-daemon][seams]")
{
    DaemonPool p;
    std::ofstream(p.root / "config" / "config.ini") << "[DEFAULT]\nTIMER = 1\nLOGLEVEL = DEBUG\n";
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    {
        // No BUTTERVOLUME_TIMER: config.ini's TIMER (1 s) and LOGLEVEL apply.
        PluginDaemon d(p.root, p.sock,
                       {.shell_prefix = fmt::format("BUTTERVOLUME_TEST_NOW_FILE='{}'; export BUTTERVOLUME_TEST_NOW_FILE;",
                                                    p.clock.native())});
        REQUIRE(p.wait_count(1));
        p.write("x");
        p.set_clock(p.now + minutes(1));
        CHECK(p.wait_count(2));
        d.stop();
        CHECK(d.log().find("ticking every 1 s") != std::string::npos);
        CHECK(d.log().find("started") != std::string::npos);
    }
    PluginDaemon bad(p.root, p.sock, {.shell_prefix = "BUTTERVOLUME_TIMER=soon; export BUTTERVOLUME_TIMER;", .wait_ready = false});
    CHECK(bad.wait_exit(seconds(10)) != 0);
    CHECK(bad.log().find("invalid BUTTERVOLUME_TIMER 'soon'") != std::string::npos);
}
