// SPDX-License-Identifier: Apache-2.0
// The snapshot commands as a user runs them: output, exit statuses, a restore killed at every
// step, and a pool laid out by the Python project (local-time names, traces, leftovers).
#include "../catch.hpp"
#include "seams.hpp"
#include "files.hpp"
#include "fixture.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <rapidjson/document.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {
RunResult bv(const fs::path& root, std::vector<std::string> args, const std::vector<std::string>& env = {})
{
    args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
    return run(args, env);
}

std::size_t lines(const std::string& s)
{
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

bool is_subvolume(const fs::path& p)
{
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == 256;
}

// The naive local time of the Python project in time zone tz: strftime(DTFORMAT) of datetime.now().
std::string python_stamp(const std::string& tz, Clock::time_point t)
{
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
    return sh(fmt::format("TZ={} date -d @{} +%Y-%m-%dT%H:%M:%S.{:06}", tz, Clock::to_time_t(t), us)).substr(0, 26);
}
} // namespace

TEST_CASE("snapshot-cli: every snapshot command has --help", "[snapshot-cli]")
{
    auto top = run({buttervolume_bin(), "--help"});
    for (const char* cmd : {"snapshot", "snapshots", "restore", "clone", "rm", "purge"}) {
        INFO(cmd);
        CHECK_THAT(top.out, Catch::Contains(fmt::format("  {} ", cmd)));
        auto help = run({buttervolume_bin(), cmd, "--help"});
        CHECK(help.status == 0);
        CHECK_THAT(help.out, Catch::StartsWith(fmt::format("usage: buttervolume {}", cmd)));
    }
    CHECK_THAT(run({buttervolume_bin(), "purge", "--help"}).out, Catch::Contains("--dryrun"));
    CHECK_THAT(run({buttervolume_bin(), "restore", "--help"}).out, Catch::Contains("--force"));
    CHECK_THAT(run({buttervolume_bin(), "snapshots", "--help"}).out, Catch::Contains("--json"));
}

TEST_CASE("snapshot-cli: snapshot, list, restore, clone, rm and purge as in the README session", "[snapshot-cli][seams]")
{
    require_test_seams();
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    const fs::path root = fsx.root();
    REQUIRE(bv(root, {"create", "db"}).status == 0);
    write_text(root / "volumes" / "db" / "f", "v1");

    auto s1 = bv(root, {"snapshot", "db"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T09:00:00.000000"});
    REQUIRE(s1.status == 0);
    CHECK(s1.out == "db@2026-11-30T09:00:00.000000\n");
    write_text(root / "volumes" / "db" / "f", "v2");
    auto s2 = bv(root, {"snapshot", "db"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T10:00:00.000000"});
    CHECK(s2.out == "db@2026-11-30T10:00:00.000000\n");

    auto table = bv(root, {"snapshots"});
    CHECK(table.status == 0);
    CHECK(table.out == "NAME                           CREATED\n"
                       "db@2026-11-30T09:00:00.000000  2026-11-30T09:00:00.000000Z\n"
                       "db@2026-11-30T10:00:00.000000  2026-11-30T10:00:00.000000Z\n");
    auto json = bv(root, {"snapshots", "db", "--json"});
    CHECK(json.status == 0);
    rapidjson::Document doc;
    doc.Parse(json.out.c_str());
    REQUIRE(doc.IsArray());
    REQUIRE(doc.Size() == 2);
    CHECK(std::string(doc[0]["Name"].GetString()) == "db@2026-11-30T09:00:00.000000");
    CHECK(std::string(doc[0]["Volume"].GetString()) == "db");
    CHECK(std::string(doc[0]["Time"].GetString()) == "2026-11-30T09:00:00.000000Z");
    CHECK(doc[0]["ReadOnly"].GetBool());
    CHECK(doc[0]["UUID"].IsString());
    CHECK(doc[0]["ParentUUID"].IsString());
    CHECK(doc[0]["ReceivedUUID"].IsNull());
    CHECK_FALSE(doc[0]["Safety"].GetBool());

    // restore: stdout is the safety snapshot, stderr says which snapshot was used.
    auto r = bv(root, {"restore", "db@2026-11-30T09:00:00.000000"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T11:00:00.000000"});
    CHECK(r.status == 0);
    CHECK(r.out == "db@2026-11-30T11:00:00.000000\n");
    CHECK(r.err == "restored db@2026-11-30T09:00:00.000000 into volume db\n");
    CHECK(read_text(root / "volumes" / "db" / "f") == "v1");
    auto by_volume = bv(root, {"restore", "db"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T12:00:00.000000"});
    CHECK(by_volume.err == "restored db@2026-11-30T10:00:00.000000 into volume db\n");
    CHECK(read_text(root / "volumes" / "db" / "f") == "v2");
    CHECK_THAT(bv(root, {"snapshots", "db"}).out, Catch::Contains("db@2026-11-30T11:00:00.000000  2026-11-30T11:00:00.000000Z  safety snapshot of a restore"));
    auto other = bv(root, {"restore", "db@2026-11-30T09:00:00.000000", "db2"});
    CHECK(other.status == 0);
    CHECK(other.out.empty()); // db2 did not exist: no safety snapshot
    CHECK(read_text(root / "volumes" / "db2" / "f") == "v1");

    auto c = bv(root, {"clone", "db@2026-11-30T10:00:00.000000", "copy"});
    CHECK(c.status == 0);
    CHECK(c.out == "copy\n");
    CHECK(read_text(root / "volumes" / "copy" / "f") == "v2");
    auto exists = bv(root, {"clone", "db", "copy"});
    CHECK(exists.status == 1);
    CHECK(exists.err == "buttervolume: clone 'db' to volume 'copy': volume 'copy' already exists\n");

    // purge: the dry run shows each snapshot with the action and why, and deletes nothing.
    const std::string before = tree_listing(root / "snapshots");
    auto dry = bv(root, {"purge", "--dryrun", "90m:1d", "db"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T12:30:00.000000"});
    CHECK(dry.status == 0);
    CHECK(dry.out == "ACTION  SNAPSHOT                       REASON\n"
                     "keep    db@2026-11-30T09:00:00.000000  oldest in bucket 2026-11-30T09:00 (90m) of band 90m-1d\n"
                     "delete  db@2026-11-30T10:00:00.000000  bucket 2026-11-30T09:00 (90m) of band 90m-1d already keeps "
                     "db@2026-11-30T09:00:00.000000\n"
                     "keep    db@2026-11-30T11:00:00.000000  oldest in bucket 2026-11-30T10:30 (90m) of band 90m-1d\n"
                     "keep    db@2026-11-30T12:00:00.000000  newest snapshot\n");
    CHECK(tree_listing(root / "snapshots") == before);
    auto real = bv(root, {"purge", "90m:1d", "db", "--json"}, {"BUTTERVOLUME_TEST_NOW=2026-11-30T12:30:00.000000"});
    CHECK(real.status == 0);
    CHECK_THAT(real.out, Catch::Contains("\"Name\":\"db@2026-11-30T10:00:00.000000\",\"Time\":\"2026-11-30T10:00:00.000000Z\","
                                         "\"Keep\":false,\"Deleted\":true"));
    CHECK_FALSE(fs::exists(root / "snapshots" / "db@2026-11-30T10:00:00.000000"));
    auto bad_pattern = bv(root, {"purge", "1d:1h", "db"});
    CHECK(bad_pattern.status == 1);
    CHECK(lines(bad_pattern.err) == 1);
    CHECK_THAT(bad_pattern.err, Catch::Contains("not ascending"));

    // rm: several at once; traversal-shaped names refused with nothing changed.
    const std::string all = tree_listing(root);
    for (const char* bad : {"x@/../../volumes/db", "@", "db@", "../volumes/db", "/etc"}) {
        INFO(bad);
        auto rm = bv(root, {"rm", bad});
        CHECK(rm.status == 1);
        CHECK(lines(rm.err) == 1);
        CHECK_THAT(rm.err, Catch::StartsWith("buttervolume: invalid snapshot name"));
    }
    CHECK(tree_listing(root) == all);
    auto rm = bv(root, {"rm", "db@2026-11-30T09:00:00.000000", "db@2026-11-30T11:00:00.000000"});
    CHECK(rm.status == 0);
    CHECK(rm.out == "db@2026-11-30T09:00:00.000000\ndb@2026-11-30T11:00:00.000000\n");
    CHECK(bv(root, {"snapshots", "db"}).out == "NAME                           CREATED                      NOTE\n"
                                               "db@2026-11-30T12:00:00.000000  2026-11-30T12:00:00.000000Z  "
                                               "safety snapshot of a restore\n");
    auto missing = bv(root, {"rm", "db@2000-01-01T00:00:00.000000"});
    CHECK(missing.status == 1);
    CHECK(missing.err == "buttervolume: remove snapshot 'db@2000-01-01T00:00:00.000000': no such snapshot\n");

    for (std::vector<std::string> usage : std::vector<std::vector<std::string>>{
             {"snapshot"}, {"snapshot", "a", "b"}, {"clone", "db"}, {"purge", "1h"}, {"rm"}, {"restore"},
             {"restore", "a", "b", "c"}, {"snapshots", "a", "b"}}) {
        INFO(fmt::format("{}", fmt::join(usage, " ")));
        auto u = bv(root, usage);
        CHECK(u.status == 2);
        CHECK(lines(u.err) == 2);
    }
}

TEST_CASE("snapshot-cli: restore refused while mounted, allowed with --force", "[snapshot-cli]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    const fs::path root = fsx.root();
    {
        Pool pool(root);
        pool.create_volume("db");
        write_text(root / "volumes" / "db" / "f", "old");
        pool.snapshot("db");
        write_text(root / "volumes" / "db" / "f", "new");
        pool.mount_volume("db", "c0ffee");
    }
    auto refused = bv(root, {"restore", "db"});
    CHECK(refused.status == 1);
    CHECK(lines(refused.err) == 1);
    CHECK_THAT(refused.err, Catch::Contains("mounted by 1 container mount; stop them, or force the restore"));
    CHECK(read_text(root / "volumes" / "db" / "f") == "new");
    auto forced = bv(root, {"restore", "--force", "db"});
    CHECK(forced.status == 0);
    CHECK(read_text(root / "volumes" / "db" / "f") == "old");
}

TEST_CASE("snapshot-cli: a restore killed at any step never leaves the volume missing", "[snapshot-cli][seams]")
{
    require_test_seams();
    for (const char* step : {"restore:safety-recorded", "restore:safety-taken", "restore:copy-made", "restore:exchanged"}) {
        DYNAMIC_SECTION(step)
        {
            BtrfsFixture fsx;
            fs::create_directories(fsx.root());
            const fs::path root = fsx.root();
            REQUIRE(bv(root, {"create", "db"}).status == 0);
            write_text(root / "volumes" / "db" / "f", "snapshot");
            std::string snap = bv(root, {"snapshot", "db"}).out;
            snap.pop_back();
            write_text(root / "volumes" / "db" / "f", "current");

            auto killed = bv(root, {"restore", snap}, {fmt::format("BUTTERVOLUME_TEST_KILL_AT={}", step)});
            CHECK(killed.status == 128 + SIGKILL);
            // The volume is there, whole: the old content before the exchange, the new after.
            REQUIRE(is_subvolume(root / "volumes" / "db"));
            bool exchanged = std::string(step) == "restore:exchanged";
            CHECK(read_text(root / "volumes" / "db" / "f") == (exchanged ? "snapshot" : "current"));

            // The next open of the pool removes the leftovers.
            { Pool pool(root); }
            CHECK(ls(root / "volumes") == "db\n");
            // A safety snapshot made before the kill is recognised as one: restoring by volume
            // name still picks the real snapshot.
            auto again = bv(root, {"restore", "db"});
            CHECK(again.status == 0);
            CHECK(again.err == fmt::format("restored {} into volume db\n", snap));
            CHECK(read_text(root / "volumes" / "db" / "f") == "snapshot");
        }
    }
}

TEST_CASE("snapshot-cli: the volume stays present during repeated restores", "[snapshot-cli]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    write_text(v.path / "f", "a");
    Snapshot a = pool.snapshot("db");
    write_text(v.path / "f", "b");
    Snapshot b = pool.snapshot("db");
    std::atomic<bool> done{false};
    std::atomic<long> checks{0}, missing{0};
    std::thread watcher([&] {
        while (!done) {
            if (::access((v.path / "f").c_str(), F_OK) != 0)
                ++missing;
            ++checks;
        }
    });
    for (int i = 0; i < 20; ++i)
        pool.restore(i % 2 ? a.name : b.name);
    done = true;
    watcher.join();
    CHECK(checks > 1000);
    CHECK(missing == 0);
}

TEST_CASE("snapshot-cli: a pool laid out by the Python project is listed, restored and purged", "[snapshot-cli]")
{
    BtrfsFixture fsx;
    const fs::path root = fsx.root();
    // What buttervolume 3.x leaves: volumes/<name> subvolumes, a v1 metadata.db, snapshots named
    // with the naive local time of the plugin, replication traces <snap>@<host>.
    const std::string tz = "America/New_York";
    sh(fmt::format("mkdir -p '{0}/volumes' '{0}/snapshots' && btrfs -q subvolume create '{0}/volumes/pydb' && "
                   "echo py > '{0}/volumes/pydb/f' && touch '{0}/volumes/metadata.db'",
                   root.native()));
    auto py_snapshot = [&](const std::string& stamp, const std::string& content) {
        sh(fmt::format("echo {1} > '{0}/volumes/pydb/f' && btrfs -q subvolume snapshot -r '{0}/volumes/pydb' "
                       "'{0}/snapshots/pydb@{2}'",
                       root.native(), content, stamp));
    };
    auto now = Clock::now();
    py_snapshot(python_stamp(tz, now - std::chrono::hours(24 * 40)), "forty-days");
    py_snapshot(python_stamp(tz, now - std::chrono::hours(24 * 3)), "three-days");
    std::string three_days = "pydb@" + python_stamp(tz, now - std::chrono::hours(24 * 3));
    sh(fmt::format("btrfs -q subvolume snapshot -r '{0}/snapshots/{1}' '{0}/snapshots/{1}@otherhost'", root.native(),
                   three_days));
    const std::vector<std::string> env{"TZ=" + tz};

    // Ours first, then a fresh Python one: read as New York time it is the newest; read as UTC
    // it would look 5 hours old.
    auto ours = bv(root, {"snapshot", "pydb"}, env);
    REQUIRE(ours.status == 0);
    std::string fresh = "pydb@" + python_stamp(tz, Clock::now());
    py_snapshot(fresh.substr(5), "fresh");
    write_text(root / "volumes" / "pydb" / "f", "live");

    auto json = bv(root, {"snapshots", "pydb", "--json"}, env);
    REQUIRE(json.status == 0);
    rapidjson::Document doc;
    doc.Parse(json.out.c_str());
    REQUIRE(doc.IsArray());
    std::vector<std::string> listed;
    for (const auto& s : doc.GetArray())
        listed.push_back(s["Name"].GetString());
    REQUIRE(listed.size() == 4); // not the trace
    CHECK(listed[2] == ours.out.substr(0, ours.out.size() - 1));
    CHECK(listed[3] == fresh);
    CHECK(std::string(doc[3]["TimestampZone"].GetString()) == "local");
    CHECK(std::string(doc[2]["TimestampZone"].GetString()) == "utc");
    // Times are printed in UTC whatever TZ says.
    std::string hour = fmt::format("{:%Y-%m-%dT%H}", fmt::gmtime(Clock::to_time_t(now)));
    CHECK_THAT(doc[2]["Timestamp"].GetString(), Catch::StartsWith(hour));
    CHECK_THAT(doc[2]["CreatedAt"].GetString(), Catch::StartsWith(hour));
    CHECK_THAT(doc[3]["Time"].GetString(), Catch::StartsWith(hour));
    CHECK_THAT(bv(root, {"volumes"}, env).out, Catch::Contains("pydb"));
    CHECK_THAT(bv(root, {"volumes"}, env).out, !Catch::Contains("metadata.db"));

    auto restored = bv(root, {"restore", "pydb"}, env);
    CHECK(restored.status == 0);
    CHECK(restored.err == fmt::format("restored {} into volume pydb\n", fresh));
    CHECK(read_text(root / "volumes" / "pydb" / "f") == "fresh\n");

    // 1d:1w: the 40-day-old one goes, the 3-day-old one is the first of its day, the rest are
    // younger than a day. The trace and metadata.db stay.
    auto purge = bv(root, {"purge", "1d:1w", "pydb"}, env);
    CHECK(purge.status == 0);
    CHECK_THAT(purge.out, Catch::Contains("deleted  pydb@" + python_stamp(tz, now - std::chrono::hours(24 * 40))));
    CHECK_THAT(purge.out, Catch::Contains("kept     " + three_days));
    CHECK_THAT(purge.out, Catch::Contains("kept     " + fresh));
    CHECK(fs::exists(root / "snapshots" / (three_days + "@otherhost")));
    CHECK(fs::exists(root / "volumes" / "metadata.db"));
    CHECK_FALSE(fs::exists(root / "snapshots" / ("pydb@" + python_stamp(tz, now - std::chrono::hours(24 * 40)))));
}
