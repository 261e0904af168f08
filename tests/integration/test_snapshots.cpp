// SPDX-License-Identifier: Apache-2.0
// Snapshots through the library on a real btrfs: snapshot, list, remove, restore, clone, purge,
// and the snapshot count; checked with btrfs-progs and the files themselves.
#include "../catch.hpp"
#include "seams.hpp"
#include "files.hpp"
#include "fixture.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <chrono>
#include <fstream>
#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {
std::vector<std::string> names_of(const std::vector<Snapshot>& snaps)
{
    std::vector<std::string> out;
    for (const auto& s : snaps)
        out.push_back(s.name);
    return out;
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name)
    {
        if (const char* old = std::getenv(name))
            old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv()
    {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};
} // namespace

TEST_CASE("snapshots: a snapshot is read-only, named <volume>@<UTC time>, and keeps the content", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    write_text(v.path / "data", "one");
    auto before = Clock::now();
    Snapshot s = pool.snapshot("db");
    auto after = Clock::now();
    CHECK(s.volume == "db");
    CHECK(s.name == "db@" + s.timestamp);
    CHECK(s.path == fsx.root() / "snapshots" / s.name);
    CHECK(s.zone == TimestampZone::Utc);
    CHECK(s.time >= std::chrono::floor<std::chrono::microseconds>(before));
    CHECK(s.time <= after);
    CHECK(s.read_only);
    CHECK(s.parent_uuid == v.uuid);
    CHECK(s.received_uuid.empty());
    CHECK_FALSE(s.safety);
    CHECK_THAT(sh(fmt::format("btrfs property get -ts '{}' ro", s.path.native())), Catch::Contains("ro=true"));
    CHECK_THAT(sh(fmt::format("btrfs subvolume show '{}'", s.path.native())), Catch::Contains(s.uuid));

    write_text(v.path / "data", "two");
    CHECK(read_text(s.path / "data") == "one");
    CHECK(::access((s.path / "new").c_str(), F_OK) != 0);
    std::ofstream probe(s.path / "new");
    CHECK_FALSE(probe.good()); // read-only filesystem

    auto found = pool.find_snapshot(s.name);
    REQUIRE(found);
    CHECK(found->uuid == s.uuid);
    CHECK_FALSE(pool.find_snapshot("db@2000-01-01T00:00:00.000000"));
    CHECK_THROWS_AS(pool.snapshot("nope"), NotFound);
    CHECK_THROWS_WITH(pool.snapshot("nope"), Catch::Contains("no such volume 'nope'"));
    CHECK_THROWS_AS(pool.snapshot("../volumes/db"), InvalidArgument);
}

TEST_CASE("snapshots: two snapshots in the same microsecond get distinct, ordered names", "[snapshot][seams]")
{
    require_test_seams();
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("db");
    ScopedEnv clock("BUTTERVOLUME_TEST_NOW", "2026-11-30T10:00:00.999999");
    Snapshot a = pool.snapshot("db");
    Snapshot b = pool.snapshot("db");
    Snapshot c = pool.snapshot("db");
    CHECK(a.name == "db@2026-11-30T10:00:00.999999");
    CHECK(b.name == "db@2026-11-30T10:00:01.000000");
    CHECK(c.name == "db@2026-11-30T10:00:01.000001");
    CHECK(names_of(pool.snapshots("db")) == std::vector<std::string>{a.name, b.name, c.name});
}

TEST_CASE("snapshots: listing is ordered by time and ignores what is not a snapshot of this layout", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume db = pool.create_volume("db");
    pool.create_volume("web");
    fs::path snaps = fsx.root() / "snapshots";
    // Older than ours, made as the Python project (and an operator) would.
    sh(fmt::format("btrfs -q subvolume snapshot -r '{}' '{}/db@2020-01-01T00:00:00.000000'", db.path.native(), snaps.native()));
    Snapshot s1 = pool.snapshot("web");
    Snapshot s2 = pool.snapshot("db");
    // Entries to ignore, and never delete: a replication trace, a plain file and a directory with
    // snapshot names, a foreign subvolume, a Python 1.x leftover.
    sh(fmt::format("btrfs -q subvolume snapshot -r '{0}' '{1}/{2}@host1'", s2.path.native(), snaps.native(), s2.name));
    write_text(snaps / "db@2021-01-01T00:00:00.000000", "not a subvolume");
    fs::create_directory(snaps / "db@2022-01-01T00:00:00.000000");
    sh(fmt::format("btrfs -q subvolume create '{}/backup-of-db'", snaps.native()));
    write_text(snaps / "metadata.db", "");
    const std::string listing = tree_listing(snaps);

    CHECK(names_of(pool.snapshots()) == std::vector<std::string>{"db@2020-01-01T00:00:00.000000", s1.name, s2.name});
    CHECK(names_of(pool.snapshots("db")) == std::vector<std::string>{"db@2020-01-01T00:00:00.000000", s2.name});
    CHECK(pool.snapshots("web").size() == 1);
    CHECK(pool.snapshots("none").empty());
    CHECK_THROWS_AS(pool.snapshots("a/b"), InvalidArgument);

    // A purge that deletes everything it may must not touch the foreign entries.
    auto decisions = pool.purge("db", RetentionPattern::parse("1m"));
    REQUIRE(decisions.size() == 2);
    CHECK(decisions[0].deleted);
    CHECK_FALSE(decisions[1].deleted); // the newest
    CHECK(fs::exists(snaps / (s2.name + "@host1")));
    CHECK(fs::exists(snaps / "backup-of-db"));
    CHECK(fs::is_regular_file(snaps / "db@2021-01-01T00:00:00.000000"));
    CHECK(fs::is_directory(snaps / "db@2022-01-01T00:00:00.000000"));
    CHECK(fs::exists(snaps / "metadata.db"));
}

TEST_CASE("snapshots: remove checks the name before any syscall and deletes only that snapshot", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("v");
    write_text(v.path / "keep", "me");
    Snapshot s = pool.snapshot("v");
    const std::string before = tree_listing(fsx.root());
    for (const std::string& bad : std::vector<std::string>{"x@/../../volumes/v", "@", "v@", "v", "/", "..", "../volumes/v",
                            (fsx.root() / "volumes" / "v").native(), "v@2026-11-30T10:00:00.000000/..",
                            "v@2026-11-30T10:00:00.000000@host", "v@../../volumes/v", "v/../v@2026-11-30T10:00:00.000000"}) {
        INFO(bad);
        CHECK_THROWS_AS(pool.remove_snapshot(bad), InvalidArgument);
    }
    CHECK(tree_listing(fsx.root()) == before);
    CHECK(read_text(v.path / "keep") == "me");

    CHECK_THROWS_AS(pool.remove_snapshot("v@2000-01-01T00:00:00.000000"), NotFound);
    CHECK_THROWS_WITH(pool.remove_snapshot("v@2000-01-01T00:00:00.000000"),
                      "remove snapshot 'v@2000-01-01T00:00:00.000000': no such snapshot");
    pool.remove_snapshot(s.name);
    CHECK_FALSE(fs::exists(s.path));
    CHECK(pool.snapshots("v").empty());
    CHECK(read_text(v.path / "keep") == "me");
}

TEST_CASE("snapshots: restore swaps in the snapshot after a safety snapshot, and twice does not swap back", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db", VolumeOptions::parse({{"copyonwrite", "false"}}));
    write_text(v.path / "f", "v1");
    Snapshot s1 = pool.snapshot("db");
    write_text(v.path / "f", "v2");
    Snapshot s2 = pool.snapshot("db");
    write_text(v.path / "f", "v3");

    RestoreResult r = pool.restore(s1.name);
    CHECK(r.source.name == s1.name);
    CHECK(r.target == "db");
    REQUIRE(r.safety_snapshot);
    CHECK(read_text(v.path / "f") == "v1");
    CHECK(read_text(fsx.root() / "snapshots" / *r.safety_snapshot / "f") == "v3");
    auto safety = pool.find_snapshot(*r.safety_snapshot);
    REQUIRE(safety);
    CHECK(safety->safety);
    CHECK(safety->read_only);
    // The restored volume is writable, a new subvolume, with the volume's options.
    Volume now = *pool.find_volume("db");
    CHECK(now.uuid != v.uuid);
    CHECK_FALSE(now.copy_on_write);
    write_text(v.path / "g", "writable");
    CHECK(read_text(v.path / "g") == "writable");

    // By volume name: the newest snapshot that is not a safety snapshot (s2), both times.
    RestoreResult r2 = pool.restore("db");
    CHECK(r2.source.name == s2.name);
    CHECK(read_text(v.path / "f") == "v2");
    RestoreResult r3 = pool.restore("db");
    CHECK(r3.source.name == s2.name);
    CHECK(read_text(v.path / "f") == "v2");
    CHECK(pool.snapshots("db").size() == 5);
    // No leftovers in volumes/.
    CHECK(sh(fmt::format("ls -A '{}'", (fsx.root() / "volumes").native())) == "db\n");

    CHECK_THROWS_AS(pool.restore("db@2000-01-01T00:00:00.000000"), NotFound);
    CHECK_THROWS_AS(pool.restore("x@/../../volumes/db"), InvalidArgument);
    pool.create_volume("empty");
    CHECK_THROWS_AS(pool.restore("empty"), NotFound);
    CHECK_THROWS_WITH(pool.restore("empty"), "restore volume 'empty': it has no snapshot to restore");
}

TEST_CASE("snapshots: restore into another volume, new or existing", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    write_text(v.path / "f", "db data");
    Snapshot s = pool.snapshot("db");

    RestoreResult fresh = pool.restore(s.name, "copy");
    CHECK_FALSE(fresh.safety_snapshot); // nothing to keep
    CHECK(read_text(fsx.root() / "volumes" / "copy" / "f") == "db data");

    Volume other = pool.create_volume("other");
    write_text(other.path / "f", "other data");
    RestoreResult r = pool.restore(s.name, "other");
    REQUIRE(r.safety_snapshot);
    CHECK(r.safety_snapshot->starts_with("other@"));
    CHECK(read_text(other.path / "f") == "db data");
    CHECK(read_text(fsx.root() / "snapshots" / *r.safety_snapshot / "f") == "other data");
    CHECK(read_text(v.path / "f") == "db data");
    CHECK(pool.snapshots("db").size() == 1);
    CHECK(pool.snapshots("other").size() == 1);
}

TEST_CASE("snapshots: restore is refused while the target is mounted, unless forced", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    write_text(v.path / "f", "old");
    Snapshot s = pool.snapshot("db");
    write_text(v.path / "f", "new");

    // A container mount recorded by the plugin.
    pool.mount_volume("db", "container1");
    const std::string before = tree_listing(fsx.root() / "snapshots");
    CHECK_THROWS_AS(pool.restore(s.name), Busy);
    CHECK_THROWS_WITH(pool.restore(s.name), Catch::Contains("mounted by 1 container mount"));
    CHECK(tree_listing(fsx.root() / "snapshots") == before);
    CHECK(read_text(v.path / "f") == "new");
    pool.unmount_volume("db", "container1");

    // A bind mount of the volume in this mount namespace.
    fs::path elsewhere = fsx.mnt() / "bind";
    fs::create_directories(elsewhere);
    sh(fmt::format("mount --bind '{}' '{}'", v.path.native(), elsewhere.native()));
    CHECK_THROWS_AS(pool.restore(s.name), Busy);
    CHECK_THROWS_WITH(pool.restore(s.name), Catch::Contains("bind-mounted at " + elsewhere.native()));
    CHECK(read_text(v.path / "f") == "new");
    RestoreOptions force;
    force.force = true;
    RestoreResult r = pool.restore(s.name, std::nullopt, force);
    CHECK(read_text(v.path / "f") == "old");
    sh(fmt::format("umount '{}'", elsewhere.native()));

    // Something mounted on the volume's directory itself.
    sh(fmt::format("mount -t tmpfs none '{}'", v.path.native()));
    CHECK_THROWS_WITH(pool.restore(s.name), Catch::Contains("mounted at " + v.path.native()));
    sh(fmt::format("umount '{}'", v.path.native()));
    CHECK_NOTHROW(pool.restore(s.name));
}

TEST_CASE("snapshots: restore keeps the volume's size limit", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("db", VolumeOptions::parse({{"size", "64M"}}));
    Snapshot s = pool.snapshot("db");
    pool.restore(s.name);
    auto v = pool.find_volume("db");
    REQUIRE(v);
    CHECK(v->size_limit == 64ULL << 20);
    // With quotas on, snapshots carry their size (what `snapshots` shows in its SIZE column).
    for (const auto& snap : pool.snapshots("db"))
        CHECK(snap.size_used.has_value());
    auto table = run({buttervolume_bin(), "--root", fsx.root().native(), "snapshots"});
    CHECK_THAT(table.out, Catch::StartsWith("NAME                           CREATED                      SIZE"));
}

TEST_CASE("snapshots: restore refuses to delete nested subvolumes a snapshot cannot keep, unless forced",
          "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("dind");
    Snapshot s = pool.snapshot("dind");
    // A container made its own subvolume in the volume (docker-in-docker with the btrfs driver).
    sh(fmt::format("mkdir -p '{0}/docker' && btrfs -q subvolume create '{0}/docker/layer' && echo data > "
                   "'{0}/docker/layer/file'",
                   v.path.native()));
    std::string before = tree_listing(fsx.mnt());
    CHECK_THROWS_AS(pool.restore(s.name), Busy);
    CHECK_THROWS_WITH(pool.restore(s.name), Catch::Contains("contains 1 nested subvolume (first: 'layer')"));
    CHECK(read_text(v.path / "docker/layer/file") == "data\n");
    CHECK(tree_listing(fsx.mnt()) == before);
    auto cli = run({buttervolume_bin(), "--root", fsx.root().native(), "restore", s.name});
    CHECK(cli.status == 1);
    CHECK_THAT(cli.err, Catch::Contains("nested subvolume"));
    CHECK(tree_listing(fsx.mnt()) == before);
    RestoreOptions force;
    force.force = true;
    CHECK_NOTHROW(pool.restore(s.name, std::nullopt, force));
    CHECK_FALSE(fs::exists(v.path / "docker"));
}

TEST_CASE("snapshots: clone a volume or a snapshot; an existing target is refused", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    write_text(v.path / "f", "one");
    Snapshot s = pool.snapshot("db");
    write_text(v.path / "f", "two");

    Volume c1 = pool.clone("db", "c1");
    CHECK(read_text(c1.path / "f") == "two");
    Volume c2 = pool.clone(s.name, "c2");
    CHECK(read_text(c2.path / "f") == "one");
    write_text(c2.path / "f", "changed");
    CHECK(read_text(s.path / "f") == "one");
    CHECK(pool.volume_names() == std::vector<std::string>{"c1", "c2", "db"});

    const std::string before = tree_listing(fsx.root());
    CHECK_THROWS_AS(pool.clone("db", "c1"), AlreadyExists);
    CHECK_THROWS_WITH(pool.clone("db", "c1"), Catch::Contains("volume 'c1' already exists"));
    CHECK_THROWS_AS(pool.clone("nope", "c3"), NotFound);
    CHECK_THROWS_AS(pool.clone("db@2000-01-01T00:00:00.000000", "c3"), NotFound);
    CHECK_THROWS_AS(pool.clone("x@/../../volumes/db", "c3"), InvalidArgument);
    CHECK_THROWS_AS(pool.clone("db", "../c3"), InvalidArgument);
    CHECK(tree_listing(fsx.root()) == before);

    // Docker's way: -o from=<volume>@<ts>.
    Volume c4 = pool.create_volume("c4", VolumeOptions::parse({{"from", s.name}}));
    CHECK(read_text(c4.path / "f") == "one");
    CHECK_THROWS_AS(pool.create_volume("c5", VolumeOptions::parse({{"from", "db@/../../volumes/db"}})), InvalidArgument);
}

TEST_CASE("snapshots: the snapshot count follows every operation and recovers from changes behind its back", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    CHECK(pool.snapshot_count("db") == 0);
    Snapshot a = pool.snapshot("db");
    Snapshot b = pool.snapshot("db");
    CHECK(pool.snapshot_count("db") == 2);
    CHECK(read_text(fsx.root() / "state" / "snapshots" / "db") == "count 2\n");
    pool.remove_snapshot(a.name);
    CHECK(pool.snapshot_count("db") == 1);
    pool.restore(b.name); // adds a safety snapshot
    CHECK(pool.snapshot_count("db") == 2);
    pool.clone("db", "other");
    CHECK(pool.snapshot_count("other") == 0);

    // Behind its back: the count is stale until the next listing of the volume.
    sh(fmt::format("btrfs -q subvolume snapshot -r '{}' '{}/db@2020-01-01T00:00:00.000000'", v.path.native(),
                   (fsx.root() / "snapshots").native()));
    CHECK(pool.snapshot_count("db") == 2);
    CHECK(pool.snapshots("db").size() == 3);
    CHECK(pool.snapshot_count("db") == 3);

    // With no record at all (a pool written by the Python project): counted, and nothing
    // written (a read must work on a full or read-only pool).
    fs::remove(fsx.root() / "state" / "snapshots" / "db");
    CHECK(pool.snapshot_count("db") == 3);
    CHECK(!fs::exists(fsx.root() / "state" / "snapshots" / "db"));
    pool.purge("db", RetentionPattern::parse("1m"));
    CHECK(pool.snapshot_count("db") == 2);
}

TEST_CASE("snapshots: volumes without count records are counted in one pass that sees later changes", "[snapshot]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    for (const char* v : {"a", "b", "c"})
        pool.create_volume(v);
    pool.snapshot("a");
    pool.snapshot("a");
    pool.snapshot("b");
    // As a pool the Python project made: no records at all.
    fs::remove_all(fsx.root() / "state" / "snapshots");
    fs::create_directories(fsx.root() / "state" / "snapshots");
    auto counts = [&] {
        return std::vector<std::size_t>{pool.snapshot_count("a"), pool.snapshot_count("b"), pool.snapshot_count("c")};
    };
    CHECK(counts() == std::vector<std::size_t>{2, 1, 0});
    // Once the folder has been still for a while the one pass is kept; any change behind the
    // pool's back (another process, btrfs itself) is seen at the next count.
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    CHECK(counts() == std::vector<std::size_t>{2, 1, 0});
    sh(fmt::format("btrfs -q subvolume snapshot -r '{}' '{}/c@2020-01-01T00:00:00.000000'",
                   (fsx.root() / "volumes" / "c").native(), (fsx.root() / "snapshots").native()));
    CHECK(counts() == std::vector<std::size_t>{2, 1, 1});
    std::this_thread::sleep_for(std::chrono::milliseconds(2200));
    CHECK(counts() == std::vector<std::size_t>{2, 1, 1});
    sh(fmt::format("btrfs -q subvolume delete '{}/c@2020-01-01T00:00:00.000000'", (fsx.root() / "snapshots").native()));
    CHECK(counts() == std::vector<std::size_t>{2, 1, 0});
    // A directory that only looks like a snapshot is not one.
    fs::create_directory(fsx.root() / "snapshots" / "b@2020-01-01T00:00:00.000000");
    CHECK(counts() == std::vector<std::size_t>{2, 1, 0});
    CHECK(fs::is_empty(fsx.root() / "state" / "snapshots"));
}

TEST_CASE("snapshots: purge deletes by retention, keeps the newest, and a dry run deletes nothing", "[snapshot][seams]")
{
    require_test_seams();
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("db");
    // Hourly snapshots over 3 days, made at fixed times.
    std::vector<std::string> names;
    for (int h = 0; h < 72; ++h) {
        ScopedEnv clock("BUTTERVOLUME_TEST_NOW", fmt::format("2026-11-{:02}T{:02}:30:00.000000", 27 + h / 24, h % 24));
        names.push_back(pool.snapshot("db").name);
    }
    PurgeOptions dry;
    dry.dry_run = true;
    dry.now = parse_snapshot_name("x@2026-11-29T23:45:00.000000")->utc;
    const std::string before = tree_listing(fsx.root() / "snapshots");
    auto plan = pool.purge("db", RetentionPattern::parse("6h:1d:2d"), dry);
    CHECK(tree_listing(fsx.root() / "snapshots") == before);
    REQUIRE(plan.size() == 72);
    for (const auto& d : plan)
        CHECK_FALSE(d.deleted);

    PurgeOptions real;
    real.now = dry.now;
    auto done = pool.purge("db", RetentionPattern::parse("6h:1d:2d"), real);
    REQUIRE(done.size() == 72);
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < done.size(); ++i) {
        CHECK(done[i].keep == plan[i].keep);
        CHECK(done[i].reason == plan[i].reason);
        CHECK(done[i].deleted == !done[i].keep);
        if (done[i].keep)
            kept.push_back(done[i].snapshot.timestamp);
    }
    // Older than 2d (before 11-27T23:45, so 11-27T23:30 too): deleted. 1d-2d: the first of each 1-day bucket
    // (11-27 and 11-28). 6h-1d: the first of each 6-hour bucket. Younger than 6h: all.
    CHECK(kept == std::vector<std::string>{"2026-11-28T00:30:00.000000",
                                           "2026-11-29T00:30:00.000000", "2026-11-29T06:30:00.000000",
                                           "2026-11-29T12:30:00.000000", "2026-11-29T18:30:00.000000",
                                           "2026-11-29T19:30:00.000000", "2026-11-29T20:30:00.000000",
                                           "2026-11-29T21:30:00.000000", "2026-11-29T22:30:00.000000",
                                           "2026-11-29T23:30:00.000000"});
    CHECK(names_of(pool.snapshots("db")).size() == kept.size());
    // Run again: stable.
    auto again = pool.purge("db", RetentionPattern::parse("6h:1d:2d"), real);
    for (const auto& d : again)
        CHECK(d.keep);

    // A protected snapshot (a replication parent) survives a pattern that condemns it.
    PurgeOptions guarded;
    guarded.now = *dry.now + std::chrono::hours(24 * 3650);
    guarded.protect["db@2026-11-28T00:30:00.000000"] = "parent of the next send to host1";
    auto kept_parent = pool.purge("db", RetentionPattern::parse("1h"), guarded);
    CHECK(kept_parent.front().keep);
    CHECK(kept_parent.front().reason ==
          "protected: parent of the next send to host1 (retention alone: older than 1h)");
    CHECK(pool.snapshots("db").size() == 2);
    pool.remove_snapshot("db@2026-11-28T00:30:00.000000");

    // Ten years later only the newest remains.
    PurgeOptions late;
    late.now = *dry.now + std::chrono::hours(24 * 3650);
    auto last = pool.purge("db", RetentionPattern::parse("1h"), late);
    CHECK(pool.snapshots("db").size() == 1);
    CHECK(pool.snapshots("db")[0].timestamp == "2026-11-29T23:30:00.000000");
    CHECK(last.back().reason == "newest snapshot");
}
