// SPDX-License-Identifier: Apache-2.0
// The scheduler inside the real `buttervolume run`: a one-second tick, the test clock, restarts,
// a week's gap, unchanged volumes, pauses, hand edits, and its settings.
#include "scheduler_daemon.hpp"

using namespace buttervolume;
using namespace buttervolume::test;
using namespace std::chrono;
namespace fs = std::filesystem;

TEST_CASE("scheduler daemon: a job runs at the first tick, then when due and not before; an unchanged volume gets "
          "no new snapshot",
          "[scheduler-daemon][seams]")
{
    SchedulerDaemon p;
    p.create("db");
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    auto d = p.start();
    REQUIRE_LOGGED(*d, p.wait_count("db", 1));
    // A minute later, nothing written: the job runs, and takes no snapshot.
    p.clock.advance(minutes(1));
    REQUIRE_LOGGED(*d, p.wait_log(*d, "job db snapshot: unchanged"));
    CHECK(p.count("db") == 1);
    CHECK(p.job("db", "snapshot")["LastResult"] == "unchanged");
    p.write("db", "x");
    p.clock.advance(seconds(50));
    p.ticks();
    CHECK(p.count("db") == 1);
    p.clock.advance(seconds(10));
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", "snapshot")["LastResult"] == "ok"; }));
    CHECK(p.count("db") == 2);
    auto j = p.job("db", "snapshot");
    CHECK(j["LastResult"] == "ok");
    CHECK(j["LastRun"] == rfc3339_text(p.clock.now()));
    CHECK(j["NextRun"] == rfc3339_text(p.clock.now() + minutes(1)));
    // Named by the same clock.
    CHECK(p.snapshots("db").back().time == p.clock.now());
    CHECK(d->stop() == 0);
    INFO(d->log());
    CHECK(occurrences(d->log(), "job db snapshot: ok") == 2);
}

TEST_CASE("scheduler daemon: a restart does not run again what ran; a week later each runs once", "[scheduler-daemon][seams]")
{
    SchedulerDaemon p;
    p.create("db");
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "purge:1h:1d", "60", "db"}).status == 0);
    {
        auto d = p.start();
        REQUIRE_LOGGED(*d, p.wait_count("db", 1));
        REQUIRE_LOGGED(*d, p.wait_log(*d, "job db purge:1h:1d: ok"));
        CHECK(d->stop() == 0);
    }
    p.write("db", "x");
    p.clock.advance(minutes(30));
    {
        auto d = p.start();
        p.ticks();
        CHECK(p.count("db") == 1);
        CHECK(d->stop() == 0);
        CHECK(occurrences(d->log(), "job db") == 0);
    }
    p.clock.advance(days(7));
    auto d = p.start();
    REQUIRE_LOGGED(*d, p.wait_log(*d, "job db snapshot: ok"));
    REQUIRE_LOGGED(*d, p.wait_log(*d, "job db purge:1h:1d: ok"));
    p.ticks();
    // The new snapshot, then (at the same tick, one job of a volume at a time) the purge of the
    // week-old one, older than 1d.
    CHECK(p.count("db") == 1);
    d->stop();
    auto log = d->log();
    INFO(log);
    CHECK(occurrences(log, "job db snapshot: ok") == 1);
    CHECK(occurrences(log, "job db purge:1h:1d: ok: purged 1 of 2 snapshots") == 1);
    CHECK(log.find("job db snapshot: ok") < log.find("job db purge:1h:1d: ok"));
}

TEST_CASE("scheduler daemon: hand edits, and pause and resume of one job or all, are seen within a tick",
          "[scheduler-daemon][seams]")
{
    SchedulerDaemon p;
    p.create("db");
    auto d = p.start();
    // Written by hand while the daemon runs, in the Python plugin's 3-column form.
    std::ofstream(p.root / "config" / "schedule.csv") << "db,snapshot,60\n";
    REQUIRE_LOGGED(*d, p.wait_count("db", 1));

    REQUIRE(p.bv({"schedule", "snapshot", "pause", "db"}).status == 0);
    CHECK(p.job("db", "snapshot")["State"] == "paused");
    p.write("db", "x");
    p.clock.advance(hours(2));
    p.ticks();
    CHECK(p.count("db") == 1);
    REQUIRE(p.bv({"schedule", "snapshot", "resume", "db"}).status == 0);
    REQUIRE_LOGGED(*d, p.wait_count("db", 2));

    REQUIRE(p.bv({"scheduled", "pause"}).status == 0);
    CHECK(p.job("db", "snapshot")["State"] == "globally paused");
    p.write("db", "x");
    p.clock.advance(hours(2));
    p.ticks();
    CHECK(p.count("db") == 2);
    REQUIRE(p.bv({"scheduled", "resume"}).status == 0);
    CHECK(p.wait_count("db", 3));
    CHECK(d->stop() == 0);
}

TEST_CASE("scheduler daemon: TIMER and LOGLEVEL come from the environment, else config.ini; a bad one stops run",
          "[scheduler-daemon][seams]")
{
    SchedulerDaemon p;
    p.create("db");
    std::ofstream(p.root / "config" / "config.ini") << "[DEFAULT]\nTIMER = 1\nLOGLEVEL = DEBUG\n";
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    {
        // No BUTTERVOLUME_TIMER: config.ini's TIMER (1 s) and LOGLEVEL apply.
        PluginDaemon d(p.root, p.sock,
                       {.shell_prefix = fmt::format("BUTTERVOLUME_TEST_NOW_FILE='{}'; export BUTTERVOLUME_TEST_NOW_FILE;",
                                                    p.clock.file().native())});
        REQUIRE_LOGGED(d, p.wait_count("db", 1));
        p.write("db", "x");
        p.clock.advance(minutes(1));
        CHECK(p.wait_count("db", 2));
        d.stop();
        CHECK(d.log().find("ticking every 1 s") != std::string::npos);
        CHECK(d.log().find("job db snapshot: started") != std::string::npos);
    }
    // The environment comes first: its bad value is refused although config.ini's is good.
    PluginDaemon bad(p.root, p.sock, {.shell_prefix = "BUTTERVOLUME_TIMER=soon; export BUTTERVOLUME_TIMER;", .wait_ready = false});
    CHECK(bad.wait_exit(seconds(10)) != 0);
    CHECK(bad.log().find("invalid BUTTERVOLUME_TIMER 'soon'") != std::string::npos);
}
