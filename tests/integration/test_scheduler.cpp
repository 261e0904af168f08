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

#include <algorithm>
#include <fstream>
#include <thread>
#include <utility>

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

// A lock taken with SchedulerEnv::hold, given back at the end of its scope: declared after the
// Scheduler, it is released before the Scheduler waits for the jobs blocked on it, so a failed
// REQUIRE ends the test instead of hanging it.
struct Held {
    int fd = -1;
    explicit Held(int f) : fd(f) {}
    Held(Held&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Held& operator=(Held&&) = delete;
    ~Held() { release(); }
    void release()
    {
        if (fd >= 0) {
            ::flock(fd, LOCK_UN);
            ::close(std::exchange(fd, -1));
        }
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
        REQUIRE(eventually([&] { return env.log().find("job db snapshot: started") != std::string::npos; }));
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
    env.pool->create_volume("late");
    file.set(job("late", "snapshot", 60));
    int wfd = env.hold("locks", "web");
    SchedulerOptions o = env.options();
    o.stop_timeout = seconds(1);
    // One worker: late's job waits in the queue behind web's, and must not start after stop().
    o.workers = 1;
    auto s = std::make_unique<Scheduler>(*env.pool, o);
    CHECK(s->tick() == 2);
    REQUIRE(eventually([&] { return env.log().find("job web snapshot: started") != std::string::npos; }));
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
    s.reset();
    CHECK(env.count("late") == 0);
    CHECK(env.log().find("job late snapshot: started") == std::string::npos);
}

TEST_CASE("scheduler: two jobs of one volume due at one tick both run, one after the other", "[scheduler][seams]")
{
    SchedulerEnv env;
    env.pool->create_volume("db");
    ScheduleFile file(env.pool->paths());
    file.set(job("db", "snapshot", 1));
    file.set(job("db", "purge:1h", 1));
    Scheduler s(*env.pool, env.options());
    // A CLI restore (say) holds db's lock: the volume's jobs wait for it, and a tick meanwhile
    // queues nothing more for db.
    Held db(env.hold("locks", "db"));
    CHECK(s.tick() == 2);
    env.clock->advance(minutes(1));
    CHECK(s.tick() == 0);
    db.release();
    s.wait_idle();
    CHECK(env.record("db", "snapshot").last_result == JobResult::Ok);
    CHECK(env.record("db", "purge:1h").last_result == JobResult::Ok);
    CHECK(env.count("db") == 1);
}

TEST_CASE("scheduler: every job due at a tick starts at that tick, four at a time", "[scheduler][seams]")
{
    // Issue 29: four jobs started per tick, the others waited for later ticks (16 never-run
    // jobs took four ticks, 300 hourly jobs ran every 75 minutes).
    SchedulerEnv env;
    ScheduleFile file(env.pool->paths());
    constexpr int n = 16;
    for (int i = 0; i < n; ++i) {
        const std::string v = fmt::format("v{:02}", i);
        env.pool->create_volume(v);
        file.set(job(v, "snapshot", 60));
    }
    SchedulerOptions o = env.options();
    o.workers = 4;
    Scheduler s(*env.pool, o);
    // Held as a long restore would: each job that starts waits inside its snapshot.
    std::vector<Held> held;
    for (int i = 0; i < n; ++i)
        held.emplace_back(env.hold("locks", fmt::format("v{:02}", i)));
    CHECK(s.tick() == n);
    // Four start, the others wait for a worker.
    auto started = [&] { return occurrences(env.log(), ": started"); };
    REQUIRE(eventually([&] { return started() == 4; }));
    std::this_thread::sleep_for(milliseconds(300));
    CHECK(started() == 4);
    held.clear();
    s.wait_idle();
    for (int i = 0; i < n; ++i)
        CHECK(env.count(fmt::format("v{:02}", i)) == 1);
    // None is left for the next tick.
    CHECK(s.tick() == 0);
}

TEST_CASE("scheduler: job locks and records go with their jobs, names that are no volume included",
          "[scheduler][seams]")
{
    // Issue 29: state/job-locks/ and state/schedule-runs kept an entry for every name ever
    // scheduled.
    SchedulerEnv env;
    env.pool->create_volume("db");
    env.pool->create_volume("web");
    ScheduleFile file(env.pool->paths());
    for (const char* v : {"db", "web", "ghost", "nobody"})
        file.set(job(v, "snapshot", 60));
    // A lock file left by an earlier version or a crash.
    const fs::path job_locks = env.pool->paths().state / "job-locks";
    fs::create_directories(job_locks);
    std::ofstream(job_locks / "gone");
    auto lock_files = [&] {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(job_locks))
            out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    };
    auto keys = [&] {
        std::vector<std::string> out;
        for (const auto& [key, r] : JobRecords(env.pool->paths()).load())
            out.push_back(key);
        return out;
    };
    Scheduler s(*env.pool, env.options());
    env.tick(s);
    CHECK(lock_files().empty());
    CHECK(keys() == std::vector<std::string>{"db,snapshot", "ghost,snapshot", "nobody,snapshot", "web,snapshot"});
    file.remove("web", JobAction::parse("snapshot"));
    file.remove("ghost", JobAction::parse("snapshot"));
    // db's job is deleted while it runs: its lock stays while it runs, its record goes after.
    env.clock->advance(minutes(60));
    env.write("db", "x");
    Held db(env.hold("locks", "db"));
    CHECK(s.tick() == 2);
    file.remove("db", JobAction::parse("snapshot"));
    REQUIRE(eventually([&] { return lock_files() == std::vector<std::string>{"db"}; }));
    db.release();
    s.wait_idle();
    CHECK(env.count("db") == 2);
    CHECK(lock_files().empty());
    env.tick(s);
    CHECK(keys() == std::vector<std::string>{"nobody,snapshot"});
    CHECK(lock_files().empty());
}
