// SPDX-License-Identifier: Apache-2.0
// serve-ssh's allow-list through a real sshd, a mixed cluster with Python nodes (both ways),
// sync with its safety snapshot, and purge keeping the next send's parent.
#include "../catch.hpp"
#include "replication_helpers.hpp"

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("replication: serve-ssh refuses shells, other commands, traversal and foreign paths", "[replication-serve]")
{
    SshHost b("node-b5", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "keep me");
    std::string s1 = take_snapshot(b.root(), "db");
    const std::string snaps = b.snapshots().native();
    std::string before = tree_listing(b.root() / "snapshots") + tree_listing(b.root() / "volumes");

    RunResult shell = ssh_to(b, "", false);
    CHECK(shell.status == 1);
    CHECK(shell.err.find("refused: a shell is not allowed") != std::string::npos);
    for (const std::string& cmd : {
             std::string("sh -c id"),
             std::string("rm -rf /"),
             std::string("cat /etc/shadow"),
             std::string("btrfs receive /tmp"),
             "btrfs receive " + snaps + "/../volumes",
             "btrfs subvolume delete " + snaps + "/../volumes/db",
             "btrfs subvolume delete " + snaps + "/x@/../../volumes/db",
             "btrfs subvolume delete " + snaps + "/db",
             "btrfs subvolume delete " + snaps + "/" + s1 + "; rm -rf /",
             "btrfs subvolume delete /tmp/" + s1,
             std::string("buttervolume serve-ssh send db@x/../.."),
             std::string("buttervolume serve-ssh send ../db"),
             std::string("buttervolume serve-ssh list ../volumes"),
             std::string("buttervolume serve-ssh shell"),
             std::string("rsync --server -vlogDtprze.iLsfxCIvu . /etc/"),
             std::string("rsync --server --sender -vlogDtprze.iLsfxCIvu . /etc/"),
             "rsync --server --sender --remove-source-files -a . " + (b.root() / "volumes" / "db").native() + "/",
             "rsync --server --sender -a . " + (b.root() / "volumes" / "db").native() + "/../../",
             std::string("list db && sh"),
             std::string("list $(id)"),
         }) {
        RunResult r = ssh_to(b, cmd);
        INFO(cmd);
        CHECK(r.status == 1);
        CHECK(r.err.find("buttervolume serve-ssh: refused: ") == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
    CHECK(tree_listing(b.root() / "snapshots") + tree_listing(b.root() / "volumes") == before);
    std::string log = read_file(b.root() / "state" / "serve-ssh.log");
    CHECK(log.find("127.0.0.1 refused 'rm -rf /'") != std::string::npos);
    CHECK(log.find("refused 'cat /etc/shadow'") != std::string::npos);

    // What it does allow: a listing with UUIDs and transids.
    RunResult list = ssh_to(b, "buttervolume serve-ssh list db");
    CHECK(list.status == 0);
    CHECK(list.out.find("buttervolume-serve-ssh 1\n") == 0);
    CHECK(list.out.find("snapshot\t" + s1 + "\t" + subvolume_field(b.snapshots() / s1, "UUID")) != std::string::npos);
}

TEST_CASE("replication: authorize-key prints a forced-command line and installs it once", "[replication-serve]")
{
    LocalPool a;
    std::string key = ssh_client().public_key();
    RunResult r = bv(a.root(), {"authorize-key", key, "--from", "10.0.0.*"});
    REQUIRE(r.status == 0);
    CHECK(r.out.find(fmt::format("command=\"{} --root {} serve-ssh\",restrict,from=\"10.0.0.*\" ssh-ed25519 ",
                                 fs::canonical(buttervolume_bin()).native(), a.root().native())) == 0);
    fs::path file = a.root() / "authorized_keys";
    REQUIRE(bv(a.root(), {"authorize-key", key, "--install", file.native()}).status == 0);
    REQUIRE(bv(a.root(), {"authorize-key", key, "--install", file.native()}).status == 0);
    CHECK(sh(fmt::format("wc -l < '{}'", file.native())) == "1\n");
    RunResult bad = bv(a.root(), {"authorize-key", "ssh-ed25519 AAAA;rm"});
    CHECK(bad.status == 1);
    CHECK(bad.err.find("not base64") != std::string::npos);
}

TEST_CASE("replication: a Python 3.13 node sends to serve-ssh with its exact commands", "[replication-legacy]")
{
    // The Python node: plain btrfs-progs on a pool of its own.
    LocalPool py;
    SshHost b("node-b6", KeyMode::ServeSsh);
    put_file(py.root(), "db", "f", "from python");
    std::string s1 = take_snapshot(py.root(), "db");
    put_file(py.root(), "db", "f", "again");
    std::string s2 = take_snapshot(py.root(), "db");
    const std::string cfg = ssh_client().config().native();
    // SNAPSHOTS_PATH has a trailing slash in Python's defaults, and its delete joins "/" onto it.
    const std::string remote = b.snapshots().native() + "/";
    auto python_send = [&](const std::string& snap, const std::string& parent) {
        std::string p = parent.empty() ? "" : fmt::format("-p '{}/snapshots/{}' ", py.root().native(), parent);
        return run({"sh", "-c", fmt::format("btrfs send {}'{}/snapshots/{}' | ssh -F '{}' {} \"btrfs receive {}\"", p,
                                            py.root().native(), snap, cfg, b.alias(), remote)});
    };
    RunResult r1 = python_send(s1, "");
    INFO(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(r1.err.find("At subvol " + s1) != std::string::npos);
    CHECK(read_file(b.snapshots() / s1 / "f") == "from python");
    RunResult r2 = python_send(s2, s1);
    REQUIRE(r2.status == 0);
    CHECK(subvolume_field(b.snapshots() / s2, "Parent UUID") == subvolume_field(b.snapshots() / s1, "UUID"));
    // Sending it again is success: Python's fallback would otherwise delete the good copy.
    RunResult again = python_send(s2, s1);
    CHECK(again.status == 0);
    CHECK(read_file(b.snapshots() / s2 / "f") == "again");
    // Its fallback's delete, exactly as it runs it, of a strict snapshot name.
    RunResult del = run({"ssh", "-F", cfg, b.alias(), fmt::format("btrfs subvolume delete {}/{} || true", remote, s2)});
    CHECK(del.status == 0);
    CHECK(!fs::exists(b.snapshots() / s2));
    CHECK(fs::exists(b.snapshots() / s1));
}

TEST_CASE("replication: send to a Python node falls back to btrfs receive and local traces", "[replication-legacy]")
{
    LocalPool a;
    SshHost p("node-p7", KeyMode::Shell);
    put_file(a.root(), "db", "f", "1");
    std::string s1 = take_snapshot(a.root(), "db");
    std::vector<std::string> path{"--remote-path", p.snapshots().native()};
    RunResult r1 = send_to(a.root(), p.alias(), s1, path);
    INFO(r1.err);
    REQUIRE(r1.status == 0);
    CHECK(r1.err.find("has no buttervolume serve-ssh: using the Python protocol") != std::string::npos);
    CHECK(r1.out.find("in full") != std::string::npos);
    CHECK(read_file(p.snapshots() / s1 / "f") == "1");
    CHECK(fs::exists(a.root() / "snapshots" / (s1 + "@" + p.alias())));
    put_file(a.root(), "db", "f", "2");
    std::string s2 = take_snapshot(a.root(), "db");
    RunResult r2 = send_to(a.root(), p.alias(), s2, path);
    REQUIRE(r2.status == 0);
    CHECK(r2.out.find("incremental from " + s1) != std::string::npos);
    CHECK(subvolume_field(p.snapshots() / s2, "Parent UUID") == subvolume_field(p.snapshots() / s1, "UUID"));
    // The new trace replaced the old one.
    CHECK(fs::exists(a.root() / "snapshots" / (s2 + "@" + p.alias())));
    CHECK(!fs::exists(a.root() / "snapshots" / (s1 + "@" + p.alias())));
}

TEST_CASE("replication: sync pulls files into the live volume after a safety snapshot", "[replication-legacy]")
{
    LocalPool a;
    SshHost b("node-b8", KeyMode::ServeSsh);
    put_file(b.root(), "files", "shared.txt", "remote version");
    put_file(b.root(), "files", "remote-only.txt", "r");
    put_file(a.root(), "files", "shared.txt", "local version");
    put_file(a.root(), "files", "local-only.txt", "l");
    RunResult r = bv(a.root(), {"sync", "--ssh-config", ssh_client().config().native(), "files", b.alias(), "--json"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(fmt::format("{{\"Host\":\"{}\",\"Ok\":true", b.alias())) != std::string::npos);
    fs::path vol = volume_dir(a.root(), "files");
    CHECK(read_file(vol / "shared.txt") == "remote version");
    CHECK(read_file(vol / "remote-only.txt") == "r");
    CHECK(read_file(vol / "local-only.txt") == "l"); // no --delete
    auto start = r.out.find("\"SafetySnapshot\":\"") + 18;
    std::string safety = r.out.substr(start, r.out.find('"', start) - start);
    CHECK(read_file(a.root() / "snapshots" / safety / "shared.txt") == "local version");

    SECTION("a Python node's sync (rsync -v -r -a -z -h -P) pulls through the same key")
    {
        fs::path dest = a.root() / "python-dest";
        RunResult py = run({"rsync", "-v", "-r", "-a", "-z", "-h", "-P", "-e",
                            "ssh -F " + ssh_client().config().native(),
                            b.alias() + ":" + volume_dir(b.root(), "files").native() + "/", dest.native()});
        INFO(py.out << py.err);
        CHECK(py.status == 0);
        CHECK(read_file(dest / "remote-only.txt") == "r");
    }
    SECTION("an unreachable host fails on its own line")
    {
        RunResult bad = bv(a.root(), {"sync", "--ssh-config", ssh_client().config().native(), "files", "127.0.0.1:1",
                                      b.alias()});
        CHECK(bad.status == 1);
        CHECK(bad.out.find(b.alias() + ": synced") != std::string::npos);
        CHECK(bad.out.find("127.0.0.1:1: ") != std::string::npos);
    }
}

TEST_CASE("replication: purge keeps the snapshot the next send needs as its parent", "[replication-legacy][seams]")
{
    LocalPool a;
    SshHost b("node-b9", KeyMode::ServeSsh);
    put_file(a.root(), "db", "f", "1");
    std::string s1 = take_snapshot(a.root(), "db");
    REQUIRE(send_to(a.root(), b.alias(), s1).status == 0);
    std::string s2 = take_snapshot(a.root(), "db");
    std::string s3 = take_snapshot(a.root(), "db");
    std::vector<std::string> later{"BUTTERVOLUME_TEST_NOW=2099-01-01T00:00:00.000000"};
    RunResult dry = bv(a.root(), {"purge", "--dryrun", "--json", "1h", "db"}, later);
    INFO(dry.out << dry.err);
    REQUIRE(dry.status == 0);
    CHECK(dry.out.find(fmt::format("\"Name\":\"{}\",", s1)) != std::string::npos);
    CHECK(dry.out.find("protected: the parent of the next send to " + b.alias()) != std::string::npos);
    RunResult real = bv(a.root(), {"purge", "1h", "db"}, later);
    REQUIRE(real.status == 0);
    CHECK(fs::exists(a.root() / "snapshots" / s1));
    CHECK(!fs::exists(a.root() / "snapshots" / s2));
    CHECK(fs::exists(a.root() / "snapshots" / s3));
    // And so the next send is still incremental.
    RunResult next = send_to(a.root(), b.alias(), s3, {"--json"});
    CHECK(next.out.find(fmt::format("\"Parent\":\"{}\"", s1)) != std::string::npos);
}
