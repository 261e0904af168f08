// SPDX-License-Identifier: Apache-2.0
// The Scheduler on a real pool with the test clock: due times, restarts, a week's gap, unchanged
// volumes, pauses, hand edits, busy volumes, the free-space floor.
#include "scheduler_daemon.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/scheduler.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

struct SchedulerEnv {
    BtrfsFixture fsx;
    std::unique_ptr<Pool> pool;
    std::unique_ptr<TestClock> clock;
    std::vector<std::string> lines;
    std::mutex lines_mutex;

    SchedulerEnv()
    {
        require_test_seams();
        fs::create_directories(fsx.root());
        pool = std::make_unique<Pool>(fsx.root());
        clock = std::make_unique<TestClock>(fsx.mnt() / "now");
        // The library in this process reads the clock file.
        ::setenv("BUTTERVOLUME_TEST_NOW_FILE", clock->file().c_str(), 1);
    }
    ~SchedulerEnv() { ::unsetenv("BUTTERVOLUME_TEST_NOW_FILE"); }

    SchedulerOptions options()
    {
        SchedulerOptions o;
        o.min_free_percent = 0;
        o.log = [this](SchedulerLogLevel, const std::string& line) {
            std::lock_guard lock(lines_mutex);
            lines.push_back(line);
        };
        return o;
    }
    // One tick, and its jobs to their end.
    std::size_t tick(Scheduler& s)
    {
        std::size_t n = s.tick();
        s.wait_idle();
        return n;
    }
    std::size_t count(const std::string& volume) { return pool->snapshots(volume).size(); }
    void write(const std::string& volume, const std::string& text)
    {
        std::ofstream(pool->volume_path(volume) / "data", std::ios::app) << text;
    }
    JobRecord record(const std::string& volume, const std::string& action)
    {
        return JobRecords(pool->paths()).load()[volume + "," + action];
    }
    // Takes the lock file state/<folder>/<name> (a volume's lock, or its job lock) as another
    // process would; returns the fd, which the test unlocks and closes.
    int hold(const std::string& folder, const std::string& name)
    {
        int fd = ::open((pool->paths().state / folder / name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        REQUIRE(::flock(fd, LOCK_EX) == 0);
        return fd;
    }
    std::string log()
    {
        std::lock_guard lock(lines_mutex);
        return fmt::format("{}", fmt::join(lines, "\n"));
    }
};

ScheduledJob job(const std::string& volume, const std::string& action, int minutes)
{
    return {volume, JobAction::parse(action), std::chrono::minutes(minutes), true};
}

} // namespace

TEST_CASE("scheduler: a job runs at the first tick, then when its timer is up and not before", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile(env.pool->paths()).set(job("db", "snapshot", 1));
    Scheduler s(*env.pool, env.options());
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 1);
    env.write("db", "a");
    env.clock->advance(seconds(59));
    CHECK(env.tick(s) == 0);
    CHECK(env.count("db") == 1);
    env.clock->advance(seconds(1));
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 2);
    auto r = env.record("db", "snapshot");
    CHECK(r.last_result == JobResult::Ok);
    CHECK(r.last_run == env.clock->now());
    // Its snapshot is named by the same clock.
    CHECK(env.pool->snapshots("db").back().time == env.clock->now());
}

TEST_CASE("scheduler: a restarted scheduler does not run again what already ran", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile(env.pool->paths()).set(job("db", "snapshot", 60));
    {
        Scheduler s(*env.pool, env.options());
        env.tick(s);
    }
    env.write("db", "changed");
    env.clock->advance(minutes(30));
    {
        Scheduler s(*env.pool, env.options());
        CHECK(env.tick(s) == 0);
    }
    CHECK(env.count("db") == 1);
    env.clock->advance(minutes(30));
    Scheduler s(*env.pool, env.options());
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 2);
}

TEST_CASE("scheduler: after a week's gap each job runs once, not once per missed period", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("a");
    env.pool->create_volume("b");
    ScheduleFile file(env.pool->paths());
    file.set(job("a", "snapshot", 60));
    file.set(job("b", "snapshot+purge:1h:1d", 10080));
    Scheduler s(*env.pool, env.options());
    CHECK(env.tick(s) == 2);
    env.write("a", "x");
    env.write("b", "x");
    env.clock->advance(days(7) + hours(3));
    CHECK(env.tick(s) == 2);
    CHECK(env.tick(s) == 0);
    env.clock->advance(minutes(59));
    CHECK(env.tick(s) == 0);
    CHECK(env.count("a") == 2);
    // b's one run took a snapshot, then purged the week-old one (older than 1d).
    CHECK(env.count("b") == 1);
    CHECK(env.record("b", "snapshot+purge:1h:1d").last_message.ends_with("; purged 1 of 2 snapshots"));
}

TEST_CASE("scheduler: a clock stepped back runs nothing twice", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile(env.pool->paths()).set(job("db", "snapshot", 60));
    Scheduler s(*env.pool, env.options());
    env.tick(s);
    env.write("db", "x");
    env.clock->advance(-hours(5));
    CHECK(env.tick(s) == 0);
    CHECK(env.log().find("clock went back") != std::string::npos);
    env.clock->advance(minutes(59));
    CHECK(env.tick(s) == 0);
    env.clock->advance(minutes(1));
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 2);
}

TEST_CASE("scheduler: an unchanged volume gets no new snapshot, a changed one does", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    env.write("db", "first");
    ScheduleFile(env.pool->paths()).set(job("db", "snapshot", 1));
    Scheduler s(*env.pool, env.options());
    env.tick(s);
    REQUIRE(env.count("db") == 1);
    for (int i = 0; i < 3; ++i) {
        env.clock->advance(minutes(1));
        env.tick(s);
    }
    CHECK(env.count("db") == 1);
    auto r = env.record("db", "snapshot");
    CHECK(r.last_result == JobResult::Unchanged);
    CHECK(r.last_run == env.clock->now());
    CHECK(env.log().find("unchanged") != std::string::npos);
    // A write not yet committed by btrfs counts: the check commits it first.
    env.write("db", "second");
    env.clock->advance(minutes(1));
    env.tick(s);
    CHECK(env.count("db") == 2);
}

TEST_CASE("scheduler: pause and resume, per job and global, take effect at the next tick", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile file(env.pool->paths());
    file.set(job("db", "snapshot", 1));
    file.set_active("db", JobAction::parse("snapshot"), false);
    Scheduler s(*env.pool, env.options());
    CHECK(env.tick(s) == 0);
    file.set_active("db", JobAction::parse("snapshot"), true);
    CHECK(env.tick(s) == 1);
    REQUIRE(file.pause_all());
    CHECK(fs::exists(env.pool->paths().config / "schedule.csv.disabled"));
    CHECK_FALSE(fs::exists(env.pool->paths().config / "schedule.csv"));
    env.write("db", "x");
    env.clock->advance(minutes(5));
    CHECK(env.tick(s) == 0);
    REQUIRE(file.resume_all());
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 2);
}

TEST_CASE("scheduler: a hand-edited schedule file is read at the next tick, bad lines logged", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    env.pool->create_volume("web");
    Scheduler s(*env.pool, env.options());
    CHECK(env.tick(s) == 0);
    std::ofstream(env.pool->paths().config / "schedule.csv") << "db,snapshot,60\nweb,snapshoot,60,True\n";
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 1);
    CHECK(env.log().find("line 2 ignored") != std::string::npos);
    std::ofstream(env.pool->paths().config / "schedule.csv") << "db,snapshot,60\nweb,snapshot,60,True\n";
    CHECK(env.tick(s) == 1);
    CHECK(env.count("web") == 1);
}

TEST_CASE("scheduler: a volume whose job is running is skipped, not queued; other volumes run", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("busy");
    env.pool->create_volume("free");
    ScheduleFile file(env.pool->paths());
    file.set(job("busy", "snapshot", 1));
    file.set(job("free", "snapshot", 1));
    Scheduler s(*env.pool, env.options());
    // A job of "busy" running elsewhere (another scheduler on this pool) holds its job lock.
    int fd = env.hold("job-locks", "busy");
    for (int i = 0; i < 3; ++i) {
        env.write("free", "x");
        env.clock->advance(minutes(1));
        env.tick(s);
    }
    CHECK(env.count("busy") == 0);
    CHECK(env.count("free") == 3);
    CHECK(env.record("busy", "snapshot").last_result == JobResult::None);
    ::close(fd);
    // Three skipped ticks make one run, not three.
    env.tick(s);
    env.tick(s);
    CHECK(env.count("busy") == 1);
}

TEST_CASE("scheduler: below the free-space floor a snapshot job fails, is recorded and retried", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile(env.pool->paths()).set(job("db", "snapshot", 60));
    SchedulerOptions o = env.options();
    o.min_free_percent = 99.9;
    {
        Scheduler s(*env.pool, o);
        env.tick(s);
        env.clock->advance(seconds(30));
        CHECK(env.tick(s) == 0);
        env.clock->advance(seconds(30));
        CHECK(env.tick(s) == 1);
    }
    CHECK(env.count("db") == 0);
    auto r = env.record("db", "snapshot");
    CHECK(r.last_result == JobResult::Failed);
    CHECK(r.failures == 2);
    CHECK_FALSE(r.last_run);
    CHECK(r.last_message.find("below the 99.9% floor") != std::string::npos);
    // Space back: the retry (2 minutes after the second failure) succeeds.
    Scheduler s(*env.pool, env.options());
    env.clock->advance(minutes(2));
    CHECK(env.tick(s) == 1);
    CHECK(env.count("db") == 1);
    CHECK(env.record("db", "snapshot").failures == 0);
}

TEST_CASE("scheduler: a job for a missing volume fails with the reason and runs once it exists", "[scheduler][seams]")
{
    SchedulerEnv env;
    ScheduleFile(env.pool->paths()).set(job("later", "snapshot", 60));
    Scheduler s(*env.pool, env.options());
    env.tick(s);
    auto r = env.record("later", "snapshot");
    CHECK(r.last_result == JobResult::Failed);
    CHECK(r.last_message == "volume 'later' does not exist");
    env.pool->create_volume("later");
    env.clock->advance(minutes(1));
    env.tick(s);
    CHECK(env.count("later") == 1);
}

TEST_CASE("scheduler: stop lets a running job finish, and gives up on one that does not end", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    env.pool->create_volume("web");
    ScheduleFile file(env.pool->paths());
    file.set(job("db", "snapshot", 60));
    // A long operation on db (a restore from the CLI, say) holds db's volume lock: the job's
    // snapshot waits for it.
    int fd = env.hold("locks", "db");
    {
        SchedulerOptions o = env.options();
        o.stop_timeout = seconds(30);
        Scheduler s(*env.pool, o);
        CHECK(s.tick() == 1);
        std::thread release([fd] {
            std::this_thread::sleep_for(milliseconds(700));
            ::flock(fd, LOCK_UN);
        });
        s.stop();
        CHECK(s.join());
        release.join();
        CHECK(env.count("db") == 1);
        CHECK(env.record("db", "snapshot").last_result == JobResult::Ok);
    }
    file.set(job("web", "snapshot", 60));
    int wfd = env.hold("locks", "web");
    SchedulerOptions o = env.options();
    o.stop_timeout = seconds(1);
    auto s = std::make_unique<Scheduler>(*env.pool, o);
    CHECK(s->tick() == 1);
    s->stop();
    const auto t0 = steady_clock::now();
    CHECK_FALSE(s->join());
    CHECK(steady_clock::now() - t0 < seconds(10));
    CHECK(env.log().find("abandoned") != std::string::npos);
    // The abandoned job ends once the lock is free; only then may the scheduler go.
    ::flock(wfd, LOCK_UN);
    ::close(wfd);
    ::close(fd);
    for (int i = 0; i < 100 && env.count("web") == 0; ++i)
        std::this_thread::sleep_for(milliseconds(100));
    CHECK(env.count("web") == 1);
}

TEST_CASE("scheduler: a job skipped for its volume's running job goes first at the next tick", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile file(env.pool->paths());
    file.set(job("db", "snapshot", 1));
    file.set(job("db", "purge:1h", 1));
    Scheduler s(*env.pool, env.options());
    // A CLI restore (say) holds db's lock at both ticks: the job started first waits for it,
    // keeping the volume's job lock, and the other is skipped.
    int fd = env.hold("locks", "db");
    CHECK(s.tick() == 1);
    ::flock(fd, LOCK_UN);
    s.wait_idle();
    const auto first = env.clock->now();
    CHECK(env.record("db", "snapshot").last_run == first);
    CHECK(env.record("db", "purge:1h").last_result == JobResult::None);
    // A minute later both are due again: the purge, skipped before, starts first.
    env.write("db", "x");
    env.clock->advance(minutes(1));
    REQUIRE(::flock(fd, LOCK_EX) == 0);
    CHECK(s.tick() == 1);
    ::flock(fd, LOCK_UN);
    ::close(fd);
    s.wait_idle();
    CHECK(env.record("db", "purge:1h").last_run == env.clock->now());
    CHECK(env.record("db", "snapshot").last_run == first);
}
