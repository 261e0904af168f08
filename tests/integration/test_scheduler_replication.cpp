// SPDX-License-Identifier: Apache-2.0
// Scheduled replicate, synchronize and purge jobs in the real `buttervolume run`, against real
// sshd hosts: a host that is down, a slow one, purge keeping the parents of scheduled hosts.
#include "replication_helpers.hpp"
#include "scheduler_daemon.hpp"
#include "stalled_remote.hpp"

#include <csignal>

using namespace buttervolume;
using namespace buttervolume::test;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

// A daemon whose replication finds the test hosts (BUTTERVOLUME_SSH_CONFIG) and logs each job
// start (debug).
void use_test_hosts(SchedulerDaemon& p)
{
    p.env.push_back("BUTTERVOLUME_SSH_CONFIG=" + ssh_client().config().native());
    p.env.push_back("BUTTERVOLUME_LOGLEVEL=debug");
}

std::string names(const std::vector<Snapshot>& snaps)
{
    std::string out;
    for (const auto& s : snaps)
        out += s.name + "\n";
    return out;
}

} // namespace

TEST_CASE("scheduler replication: a replicate to a host that is down fails, is retried later and later, and sends "
          "when the host is back; nothing is removed",
          "[scheduler-replication][seams]")
{
    SchedulerDaemon p;
    use_test_hosts(p);
    p.create("db");
    p.write("db", "v1");
    SshHost host("sched-down", KeyMode::ServeSsh);
    host.stop_listening();
    const std::string action = "replicate:" + host.alias();
    REQUIRE(p.bv({"schedule", action, "60", "db"}).status == 0);
    auto d = p.start();

    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["Failures"] == "1"; }));
    auto j = p.job("db", action);
    INFO(d->log());
    CHECK(j["State"] == "failing (1x)");
    CHECK(j["LastResult"] == "failed");
    CHECK(j["LastRun"].empty());
    CHECK(j["LastMessage"].find(host.alias()) != std::string::npos);
    CHECK(j["NextRun"] == rfc3339_text(p.clock.now() + minutes(1)));
    CHECK(d->log().find(fmt::format("job db {}: failed (1 in a row), retried in 1 min", action)) != std::string::npos);
    // The snapshot the job took stays; the host got nothing.
    const std::string taken = names(p.snapshots("db"));
    CHECK(p.count("db") == 1);
    CHECK(snapshot_entries(host.root()).empty());

    p.clock.advance(minutes(1));
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["Failures"] == "2"; }));
    CHECK(p.job("db", action)["NextRun"] == rfc3339_text(p.clock.now() + minutes(2)));
    // Retried with the same snapshot: the volume did not change.
    CHECK(names(p.snapshots("db")) == taken);

    host.start_listening();
    p.clock.advance(minutes(1));
    p.ticks();
    CHECK(p.job("db", action)["Failures"] == "2");
    p.clock.advance(minutes(1));
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["LastResult"] == "ok"; }));
    j = p.job("db", action);
    CHECK(j["Failures"] == "0");
    CHECK(j["LastRun"] == rfc3339_text(p.clock.now()));
    CHECK(j["NextRun"] == rfc3339_text(p.clock.now() + minutes(60)));
    CHECK(j["LastMessage"].find(fmt::format("sent to {} (in full)", host.alias())) != std::string::npos);
    CHECK(snapshot_entries(host.root()) == taken);
    CHECK(names(p.snapshots("db")) == taken);
    CHECK(d->stop() == 0);
}

TEST_CASE("scheduler replication: a slow replicate makes its volume's next job wait, skipped and not queued, while "
          "another volume's job runs; SIGTERM lets it finish, SIGKILL cuts it and it runs again",
          "[scheduler-replication][seams]")
{
    SchedulerDaemon p;
    use_test_hosts(p);
    p.create("db");
    p.create("web");
    p.write("db", "v1");
    p.write("web", "v1");
    SshHost host("sched-slow", KeyMode::ServeSsh);
    host.delay_sessions(seconds(3));
    const std::string rep = fmt::format("job db replicate:{}", host.alias());
    REQUIRE(p.bv({"schedule", "replicate:" + host.alias(), "1", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "snapshot", "1", "web"}).status == 0);
    auto d = p.start();

    REQUIRE_LOGGED(*d, p.wait_log(*d, rep + ": ok"));
    REQUIRE_LOGGED(*d, p.wait_log(*d, "job db snapshot: unchanged"));
    std::string log = d->log();
    INFO(log);
    const auto rep_end = log.find(rep + ": ok");
    // web's job ran while db's replicate was still sending.
    CHECK(log.find("job web snapshot: ok") < rep_end);
    // db's snapshot job was skipped at the ticks of the replicate, and ran once after it.
    CHECK(occurrences(log.substr(0, rep_end), "job db snapshot: skipped, another job of the volume is running") >= 2);
    CHECK(log.find("job db snapshot: started") > rep_end);
    CHECK(occurrences(log, "job db snapshot: started") == 1);
    // It found the volume as the replicate's snapshot left it.
    CHECK(p.count("db") == 1);

    // A second replicate, and SIGTERM while it waits for the host.
    p.write("db", "v2");
    p.clock.advance(minutes(1));
    REQUIRE_LOGGED(*d, p.wait_log(*d, rep + ": started", 2));
    CHECK(d->stop(SIGTERM) == 0);
    log = d->log();
    CHECK(occurrences(log, rep + ": ok") == 2);
    // Both snapshots are on the host: the second send was not cut short.
    CHECK(snapshot_entries(host.root()) == names(p.snapshots("db")));

    // A third one cut short by SIGKILL: nothing half-made on the host, and after the restart
    // the job (whose end was never recorded) simply runs again.
    p.write("db", "v3");
    p.clock.advance(minutes(1));
    d = p.start();
    REQUIRE_LOGGED(*d, p.wait_log(*d, rep + ": started"));
    CHECK(d->stop(SIGKILL) == 128 + SIGKILL);
    d = p.start();
    REQUIRE_LOGGED(*d, p.wait_log(*d, rep + ": ok"));
    CHECK(d->stop() == 0);
    CHECK(p.count("db") == 3);
    CHECK(snapshot_entries(host.root()) == names(p.snapshots("db")));
}

TEST_CASE("scheduler replication: a replicate to a host that stops reading fails within the stall bound, frees "
          "its volume and is retried like any failure",
          "[scheduler-replication][seams]")
{
    SchedulerDaemon p;
    use_test_hosts(p);
    p.env.push_back("BUTTERVOLUME_STALL_TIMEOUT=3");
    p.create("db");
    sh(fmt::format("head -c 128M /dev/urandom > '{}' && sync", (p.root / "volumes" / "db" / "blob").native()));
    SshHost host("sched-stall", KeyMode::ServeSsh);
    const std::string before = snapshot_entries(host.root());
    const std::string action = "replicate:" + host.alias();
    REQUIRE(p.bv({"schedule", action, "60", "db"}).status == 0);
    auto d = p.start();

    // Once the host is receiving, its serve-ssh stops reading; its sshd still answers.
    StoppedRemote remote;
    REQUIRE_LOGGED(*d, eventually([&] { return has_receive_leftover(host.root()); }, seconds(30)));
    remote.stop(host.root());
    REQUIRE(!remote.pids.empty());
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["Failures"] == "1"; }, seconds(20)));
    auto j = p.job("db", action);
    INFO(d->log());
    CHECK(j["LastMessage"].find("no progress for 3 s") != std::string::npos);
    CHECK(j["LastMessage"].find(host.alias()) != std::string::npos);
    CHECK(j["State"] == "failing (1x)");
    CHECK(j["NextRun"] == rfc3339_text(p.clock.now() + minutes(1)));
    // The daemon lives on, and the volume is free: a snapshot of it goes through at once.
    RunResult snap = p.bv({"snapshot", "db"});
    INFO(snap.err);
    CHECK(snap.status == 0);

    // Continued, the host finds the session gone and removes what it had received.
    remote.resume();
    CHECK(eventually([&] { return snapshot_entries(host.root()) == before; }, seconds(10)));
    CHECK(d->stop() == 0);
}

TEST_CASE("scheduler replication: a purge job keeps the parents of the hosts a replicate job names, several in "
          "one quoted action included",
          "[scheduler-replication][seams]")
{
    SchedulerDaemon p;
    use_test_hosts(p);
    p.create("db");
    p.write("db", "v1");
    SshHost a("sched-pa", KeyMode::ServeSsh);
    SshHost b("sched-pb", KeyMode::ServeSsh);
    const std::string rep = fmt::format("replicate:{},{}", a.alias(), b.alias());
    // The purge first: at a tick where both are due, it runs and the replicate waits.
    REQUIRE(p.bv({"schedule", "purge:1h", "60", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", rep, "60", "db"}).status == 0);
    CHECK(read_file(p.root / "config" / "schedule.csv").find(fmt::format("db,\"{}\",60,True", rep)) !=
          std::string::npos);
    {
        auto d = p.start();
        REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", rep)["LastResult"] == "ok"; }));
        CHECK(d->stop() == 0);
    }
    REQUIRE(p.count("db") == 1);
    const std::string first = p.snapshots("db")[0].name;
    // Both sends were 40 days ago (the hosts were down since): only the schedule still says
    // they want the next send, and need its parent.
    sh(fmt::format("awk -F'\\t' -v OFS='\\t' '{{ $3 = $3 - 40 * 86400; print }}' '{0}' > '{0}.new' && mv '{0}.new' '{0}'",
                   (p.root / "state" / "replication" / "db").native()));
    p.clock.advance(hours(2));
    p.write("db", "v2");
    REQUIRE(p.bv({"snapshot", "db"}).status == 0);

    auto d = p.start();
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", rep)["LastRun"] == rfc3339_text(p.clock.now()); }));
    CHECK(d->stop() == 0);
    INFO(d->log());
    // The purge kept the first snapshot, two hours old, as the parent, so the sends were
    // incremental.
    CHECK(p.job("db", "purge:1h")["LastMessage"] == "purged 0 of 2 snapshots");
    CHECK(p.snapshots("db")[0].name == first);
    auto j = p.job("db", rep);
    CHECK(j["LastMessage"].find(fmt::format("sent to {} (incremental from {})", a.alias(), first)) != std::string::npos);
    CHECK(j["LastMessage"].find(fmt::format("sent to {} (incremental from {})", b.alias(), first)) != std::string::npos);
}

TEST_CASE("scheduler replication: a synchronize job pulls each host's files after a safety snapshot; a host that "
          "fails fails the job",
          "[scheduler-replication][seams]")
{
    SchedulerDaemon p;
    use_test_hosts(p);
    p.create("db");
    p.write("db", "local");
    SshHost host("sched-sync", KeyMode::ServeSsh);
    put_file(host.root(), "db", "from-host", "remote text");
    // 127.0.0.1:1 refuses the connection: that host fails, the other is still synced.
    const std::string action = fmt::format("synchronize:{},127.0.0.1:1", host.alias());
    REQUIRE(p.bv({"schedule", action, "60", "db"}).status == 0);
    auto d = p.start();
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["LastResult"] == "failed"; }));
    CHECK(d->stop() == 0);
    auto j = p.job("db", action);
    INFO(j["LastMessage"]);
    CHECK(read_file(p.root / "volumes" / "db" / "from-host") == "remote text");
    CHECK(read_file(p.root / "volumes" / "db" / "data") == "local");
    REQUIRE(p.count("db") == 1);
    CHECK(j["LastMessage"].starts_with("safety snapshot " + p.snapshots("db")[0].name));
    CHECK(j["LastMessage"].find("127.0.0.1:1") != std::string::npos);
    CHECK(j["State"] == "failing (1x)");
}
