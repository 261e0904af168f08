// SPDX-License-Identifier: Apache-2.0
// send / receive between hosts with their own btrfs and sshd: negotiation, fan-out, pull,
// failover, host keys, and what serve-ssh refuses.
#include "../catch.hpp"
#include "replication_helpers.hpp"

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("replication: full then incremental; the remote's parent is the first snapshot", "[replication]")
{
    LocalPool a;
    SshHost b("node-b1", KeyMode::ServeSsh);
    put_file(a.root(), "db", "one", "first");
    std::string s1 = take_snapshot(a.root(), "db");
    RunResult r1 = send_to(a.root(), b.alias(), s1);
    INFO(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(r1.out.find("in full") != std::string::npos);
    REQUIRE(fs::exists(b.snapshots() / s1));
    CHECK(subvolume_field(b.snapshots() / s1, "Received UUID") == subvolume_field(a.root() / "snapshots" / s1, "UUID"));
    CHECK(read_file(b.snapshots() / s1 / "one") == "first");

    put_file(a.root(), "db", "two", "second");
    std::string s2 = take_snapshot(a.root(), "db");
    RunResult r2 = send_to(a.root(), b.alias(), s2, {"--json"});
    INFO(r2.err);
    REQUIRE(r2.status == 0);
    CHECK(r2.out.find(fmt::format("\"Parent\":\"{}\"", s1)) != std::string::npos);
    CHECK(r2.out.find("\"Full\":false") != std::string::npos);
    CHECK(subvolume_field(b.snapshots() / s2, "Parent UUID") == subvolume_field(b.snapshots() / s1, "UUID"));
    CHECK(read_file(b.snapshots() / s2 / "two") == "second");
    // The remote counts what it received, as the plugin's Status shows it.
    CHECK(trimmed(bv(b.root(), {"snapshots", "db"}).out).find(s2) != std::string::npos);

    SECTION("sending it again sends nothing and changes nothing")
    {
        std::string before = snapshot_entries(b.root());
        RunResult again = send_to(a.root(), b.alias(), s2);
        CHECK(again.status == 0);
        CHECK(again.out.find("already there") != std::string::npos);
        CHECK(snapshot_entries(b.root()) == before);
    }
    SECTION("the parent deleted on the remote: the next send uses an older common one, then full")
    {
        REQUIRE(bv(b.root(), {"rm", s2}).status == 0);
        std::string s3 = take_snapshot(a.root(), "db");
        RunResult r3 = send_to(a.root(), b.alias(), s3, {"--json"});
        INFO(r3.err);
        REQUIRE(r3.status == 0);
        CHECK(r3.out.find(fmt::format("\"Parent\":\"{}\"", s1)) != std::string::npos);
        REQUIRE(bv(b.root(), {"rm", s1}).status == 0);
        REQUIRE(bv(b.root(), {"rm", s3}).status == 0);
        std::string s4 = take_snapshot(a.root(), "db");
        RunResult r4 = send_to(a.root(), b.alias(), s4, {"--json"});
        REQUIRE(r4.status == 0);
        CHECK(r4.out.find("\"Parent\":null") != std::string::npos);
        CHECK(read_file(b.snapshots() / s4 / "two") == "second");
    }
    SECTION("the parent deleted locally: the next send uses an older common one")
    {
        REQUIRE(bv(a.root(), {"rm", s2}).status == 0);
        std::string s3 = take_snapshot(a.root(), "db");
        RunResult r3 = send_to(a.root(), b.alias(), s3, {"--json"});
        REQUIRE(r3.status == 0);
        CHECK(r3.out.find(fmt::format("\"Parent\":\"{}\"", s1)) != std::string::npos);
        CHECK(subvolume_field(b.snapshots() / s3, "Parent UUID") == subvolume_field(b.snapshots() / s1, "UUID"));
    }
    SECTION("--parent the remote lacks is refused before anything is sent")
    {
        REQUIRE(bv(b.root(), {"rm", s1}).status == 0);
        std::string s3 = take_snapshot(a.root(), "db");
        RunResult r3 = send_to(a.root(), b.alias(), s3, {"--parent", s1});
        CHECK(r3.status == 1);
        CHECK(r3.err.find("does not hold the parent") != std::string::npos);
        CHECK(!fs::exists(b.snapshots() / s3));
    }
}

TEST_CASE("replication: fan-out to two hosts with different histories", "[replication]")
{
    LocalPool a;
    SshHost b("node-b2", KeyMode::ServeSsh);
    SshHost c("node-c2", KeyMode::ServeSsh);
    put_file(a.root(), "web", "f", "1");
    std::string s1 = take_snapshot(a.root(), "web");
    REQUIRE(send_to(a.root(), b.alias() + "," + c.alias(), s1).status == 0);
    put_file(a.root(), "web", "f", "2");
    std::string s2 = take_snapshot(a.root(), "web");
    REQUIRE(send_to(a.root(), b.alias(), s2).status == 0);
    put_file(a.root(), "web", "f", "3");
    std::string s3 = take_snapshot(a.root(), "web");
    RunResult r = send_to(a.root(), b.alias() + "," + c.alias(), s3, {"--json"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(fmt::format("\"Host\":\"{}\",\"Snapshot\":\"{}\",\"Parent\":\"{}\"", b.alias(), s3, s2)) !=
          std::string::npos);
    CHECK(r.out.find(fmt::format("\"Host\":\"{}\",\"Snapshot\":\"{}\",\"Parent\":\"{}\"", c.alias(), s3, s1)) !=
          std::string::npos);
    CHECK(read_file(b.snapshots() / s3 / "f") == "3");
    CHECK(read_file(c.snapshots() / s3 / "f") == "3");

    SECTION("one unreachable host fails alone, with a non-zero exit")
    {
        put_file(a.root(), "web", "f", "4");
        std::string s4 = take_snapshot(a.root(), "web");
        RunResult bad = send_to(a.root(), "127.0.0.1:1," + b.alias(), s4);
        CHECK(bad.status == 1);
        CHECK(bad.err.find("127.0.0.1:1") != std::string::npos);
        CHECK(fs::exists(b.snapshots() / s4));
    }
}

TEST_CASE("replication: receive (pull), then failover restores the data there", "[replication]")
{
    SshHost a("node-a3", KeyMode::ServeSsh);
    LocalPool b;
    put_file(a.root(), "app", "data.txt", "v1");
    std::string s1 = take_snapshot(a.root(), "app");
    std::vector<std::string> ssh{"--ssh-config", ssh_client().config().native()};
    auto pull = [&] {
        std::vector<std::string> args{"receive", a.alias(), "app", "--json"};
        args.insert(args.end(), ssh.begin(), ssh.end());
        return bv(b.root(), args);
    };
    RunResult r1 = pull();
    INFO(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(r1.out.find("\"Parent\":null") != std::string::npos);
    REQUIRE(fs::exists(b.root() / "snapshots" / s1));
    put_file(a.root(), "app", "data.txt", "v2");
    std::string s2 = take_snapshot(a.root(), "app");
    RunResult r2 = pull();
    REQUIRE(r2.status == 0);
    CHECK(r2.out.find(fmt::format("\"Parent\":\"{}\"", s1)) != std::string::npos);
    RunResult r3 = pull();
    CHECK(r3.status == 0);
    CHECK(r3.out.find("\"AlreadyThere\":true") != std::string::npos);

    // Failover: host b makes a volume of what it received and reads the data, no container.
    RunResult restore = bv(b.root(), {"restore", s2});
    INFO(restore.err);
    REQUIRE(restore.status == 0);
    CHECK(read_file(volume_dir(b.root(), "app") / "data.txt") == "v2");

    SECTION("an unreachable host is an error, not nothing to do")
    {
        RunResult bad = bv(b.root(), {"receive", "127.0.0.1:1", "app"});
        CHECK(bad.status == 1);
        CHECK(bad.err.find("127.0.0.1:1") != std::string::npos);
    }
}

TEST_CASE("replication: a host sending to its own pool gets an error, not a hang", "[replication]")
{
    SshHost b("node-self", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "x");
    std::string s1 = take_snapshot(b.root(), "db");
    std::string before = snapshot_entries(b.root());
    RunResult r = send_to(b.root(), b.alias(), s1);
    CHECK(r.status == 1);
    CHECK(r.err.find("is this very pool") != std::string::npos);
    CHECK(snapshot_entries(b.root()) == before);
}

TEST_CASE("replication: a host key that does not match known_hosts is refused", "[replication]")
{
    LocalPool a;
    SshHost b("node-b4", KeyMode::ServeSsh);
    SshHost other("node-x4", KeyMode::ServeSsh);
    // An alias for b's address whose known key is another host's: a man in the middle.
    const std::string mitm = b.alias() + "-mitm";
    ssh_client().add(mitm, b.port(), other.host_key());
    put_file(a.root(), "db", "f", "x");
    std::string s1 = take_snapshot(a.root(), "db");
    std::string before = snapshot_entries(b.root());
    RunResult r = send_to(a.root(), mitm, s1);
    CHECK(r.status == 1);
    CHECK(r.err.find("Host key verification failed") != std::string::npos);
    CHECK(snapshot_entries(b.root()) == before);
}

TEST_CASE("replication: ssh settings come from flags, then the environment, then <root>/ssh/config",
          "[replication]")
{
    LocalPool a;
    SshHost b("node-cfg", KeyMode::ServeSsh);
    put_file(a.root(), "db", "f", "x");
    std::string s1 = take_snapshot(a.root(), "db");
    fs::create_directories(a.root() / "ssh");
    fs::copy_file(ssh_client().config(), a.root() / "ssh" / "config");
    // Only <root>/ssh/config knows the alias: found without any flag.
    RunResult own = bv(a.root(), {"send", b.alias(), s1});
    INFO(own.err);
    CHECK(own.status == 0);
    std::string s2 = take_snapshot(a.root(), "db");
    // The environment wins over <root>/ssh/config...
    std::vector<std::string> bad_env{"BUTTERVOLUME_SSH_CONFIG=/nonexistent/ssh_config"};
    RunResult env = bv(a.root(), {"send", b.alias(), s2}, bad_env);
    CHECK(env.status == 1);
    CHECK(env.err.find("/nonexistent/ssh_config") != std::string::npos);
    CHECK(!fs::exists(b.snapshots() / s2));
    // ...and the flag over the environment.
    RunResult flag = bv(a.root(), {"send", "--ssh-config", ssh_client().config().native(), b.alias(), s2}, bad_env);
    CHECK(flag.status == 0);
    CHECK(fs::exists(b.snapshots() / s2));
}
