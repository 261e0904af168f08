// SPDX-License-Identifier: Apache-2.0
// Ephemeral volumes (from=SOURCE, ephemeral=true) on a real btrfs: a fresh clone at each first mount.
#include "../catch.hpp"
#include "files.hpp"
#include "fixture.hpp"
#include "seams.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <optional>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

VolumeOptions ephemeral_of(const std::string& source)
{
    VolumeOptions o;
    o.from = source;
    o.ephemeral = true;
    return o;
}

const std::string id1(64, '1'), id2(64, '2');

// A pool with volume prod (file f: "prod") and qa, an ephemeral clone of it.
struct EphemeralPool {
    BtrfsFixture fsx;
    std::optional<Pool> pool;
    Volume qa;
    EphemeralPool()
    {
        fs::create_directories(fsx.root());
        pool.emplace(fsx.root());
        write_text(pool->create_volume("prod").path / "f", "prod");
        qa = pool->create_volume("qa", ephemeral_of("prod"));
    }
};

} // namespace

TEST_CASE("ephemeral: each first mount gets a fresh clone of the source; the last unmount drops the writes",
          "[ephemeral]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume prod = pool.create_volume("prod");
    write_text(prod.path / "f", "prod-1");
    Volume qa = pool.create_volume("qa", ephemeral_of("prod"));
    CHECK(qa.ephemeral_source == "prod");
    CHECK(read_text(qa.path / "f") == "prod-1");

    // A container writes into its clone; production moves on meanwhile.
    CHECK(pool.mount_volume("qa", id1) == qa.path);
    write_text(qa.path / "f", "written by a container");
    write_text(qa.path / "new", "x");
    write_text(prod.path / "f", "prod-2");
    CHECK(read_text(qa.path / "f") == "written by a container");

    // The last unmount discards what the container wrote.
    CHECK(pool.unmount_volume("qa", id1));
    CHECK_FALSE(fs::exists(qa.path / "new"));
    CHECK(read_text(qa.path / "f") == "prod-2");

    // The next first mount clones the source as it is then.
    write_text(prod.path / "f", "prod-3");
    const std::string uuid_before = pool.find_volume("qa")->uuid;
    pool.mount_volume("qa", id2);
    CHECK(read_text(qa.path / "f") == "prod-3");
    CHECK_FALSE(fs::exists(qa.path / "new"));
    CHECK(pool.find_volume("qa")->uuid != uuid_before);
    CHECK(pool.unmount_volume("qa", id2));

    // The source is untouched, and nothing is left behind in volumes/.
    CHECK(read_text(prod.path / "f") == "prod-3");
    CHECK(ls(fsx.root() / "volumes") == "prod\nqa\n");
    std::string list = sh(fmt::format("btrfs subvolume list '{}'", fsx.mnt().native()));
    CHECK_THAT(list, !Catch::Contains(".tmp.") && !Catch::Contains(".trash."));
}

TEST_CASE("ephemeral: two mounts share one clone until the last of them is unmounted", "[ephemeral]")
{
    EphemeralPool e;
    Pool& pool = *e.pool;
    const Volume& qa = e.qa;

    pool.mount_volume("qa", id1);
    write_text(qa.path / "shared", "from the first container");
    // A second container while the first runs: no new clone, it sees the first one's writes.
    pool.mount_volume("qa", id2);
    CHECK(read_text(qa.path / "shared") == "from the first container");
    CHECK(pool.mount_count("qa") == 2);

    CHECK(pool.unmount_volume("qa", id1));
    CHECK(read_text(qa.path / "shared") == "from the first container");
    CHECK(pool.unmount_volume("qa", id2));
    CHECK_FALSE(fs::exists(qa.path / "shared"));
    CHECK(read_text(qa.path / "f") == "prod");
}

TEST_CASE("ephemeral: a snapshot source gives that snapshot each time, not the volume's current state", "[ephemeral]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume prod = pool.create_volume("prod");
    write_text(prod.path / "f", "at the snapshot");
    Snapshot snap = pool.snapshot("prod");
    write_text(prod.path / "f", "later");
    Volume qa = pool.create_volume("qa", ephemeral_of(snap.name));
    CHECK(qa.ephemeral_source == snap.name);

    for (const std::string& id : {id1, id2}) {
        pool.mount_volume("qa", id);
        CHECK(read_text(qa.path / "f") == "at the snapshot");
        write_text(qa.path / "f", "written");
        CHECK(pool.unmount_volume("qa", id));
    }
    CHECK(read_text(qa.path / "f") == "at the snapshot");
    // The snapshot stays read-only and unchanged.
    CHECK(read_text(snap.path / "f") == "at the snapshot");
}

TEST_CASE("ephemeral: a source that is gone fails the next mount clearly and the volume keeps its content",
          "[ephemeral]")
{
    EphemeralPool e;
    Pool& pool = *e.pool;
    const Volume& qa = e.qa;

    // The source disappears while a container runs: its last unmount succeeds (Docker must be
    // able to stop it) and keeps what it wrote, as there is no clone to go back to.
    pool.mount_volume("qa", id1);
    write_text(qa.path / "f", "written");
    pool.remove_volume("prod");
    CHECK(pool.unmount_volume("qa", id1));
    CHECK(read_text(qa.path / "f") == "written");

    CHECK_THROWS_AS(pool.mount_volume("qa", id2), NotFound);
    CHECK_THROWS_WITH(pool.mount_volume("qa", id2),
                      "mount volume 'qa': its source, volume 'prod', no longer exists, so no fresh clone can be "
                      "made; the ephemeral volume is left as it was (recreate the source, or remove the volume)");
    CHECK(pool.mount_count("qa") == 0);
    CHECK(read_text(qa.path / "f") == "written");
    CHECK(pool.find_volume("qa")->ephemeral_source == "prod");

    // A source of that name again: mounts work again, from it.
    write_text(pool.create_volume("prod").path / "f", "prod again");
    pool.mount_volume("qa", id2);
    CHECK(read_text(qa.path / "f") == "prod again");
    CHECK(pool.unmount_volume("qa", id2));

    // A snapshot source deleted: the same, named as a snapshot.
    Snapshot snap = pool.snapshot("prod");
    pool.create_volume("qa-snap", ephemeral_of(snap.name));
    pool.remove_snapshot(snap.name);
    CHECK_THROWS_WITH(pool.mount_volume("qa-snap", id1),
                      Catch::Contains(fmt::format("its source, snapshot '{}', no longer exists", snap.name)));
    CHECK(read_text(e.fsx.root() / "volumes/qa-snap/f") == "prod again");
}

TEST_CASE("ephemeral: the option survives a new Pool (a restarted plugin); create is idempotent; remove forgets it",
          "[ephemeral]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    {
        Pool pool(fsx.root());
        write_text(pool.create_volume("prod").path / "f", "prod");
        pool.create_volume("qa", ephemeral_of("prod"));
        pool.create_volume("plain-clone", [] {
            VolumeOptions o;
            o.from = "prod";
            return o;
        }());
        pool.mount_volume("qa", id1);
        write_text(fsx.root() / "volumes/qa/f", "written before the restart");
    }
    // Another process: the mount count and the option are on disk.
    Pool pool(fsx.root());
    CHECK(pool.find_volume("qa")->ephemeral_source == "prod");
    CHECK_FALSE(pool.find_volume("plain-clone")->ephemeral_source);
    CHECK(pool.unmount_volume("qa", id1));
    CHECK(read_text(fsx.root() / "volumes/qa/f") == "prod");

    // Equal options return the volume; others name the difference.
    CHECK(pool.create_volume("qa", ephemeral_of("prod")).ephemeral_source == "prod");
    VolumeOptions plain;
    plain.from = "prod";
    CHECK_THROWS_WITH(pool.create_volume("qa", plain),
                      "volume 'qa' already exists with other options: it is ephemeral (a fresh clone of 'prod' at "
                      "each first mount)");
    CHECK_THROWS_WITH(pool.create_volume("plain-clone", ephemeral_of("prod")),
                      "volume 'plain-clone' already exists with other options: it is not ephemeral");
    pool.create_volume("other");
    CHECK_THROWS_WITH(pool.create_volume("qa", ephemeral_of("other")),
                      Catch::Contains("it is an ephemeral clone of 'prod', asked 'other'"));
    // The options a volume reports create an equal one.
    CHECK(pool.find_volume("qa")->options() == ephemeral_of("prod"));

    // Removed and made again without the option: an ordinary volume, kept across mounts.
    pool.remove_volume("qa");
    CHECK_FALSE(fs::exists(fsx.root() / "state/ephemeral/qa"));
    Volume again = pool.create_volume("qa");
    CHECK_FALSE(again.ephemeral_source);
    pool.mount_volume("qa", id1);
    write_text(again.path / "kept", "k");
    pool.unmount_volume("qa", id1);
    CHECK(read_text(again.path / "kept") == "k");
}

TEST_CASE("ephemeral: ephemeral=true without from= is refused and changes nothing", "[ephemeral]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("prod");
    const std::string before = tree_listing(fsx.root());
    VolumeOptions o;
    o.ephemeral = true;
    CHECK_THROWS_AS(pool.create_volume("qa", o), InvalidArgument);
    CHECK_THROWS_WITH(
        pool.create_volume("qa", o),
        "create volume 'qa': option 'ephemeral=true' needs 'from=<volume>' or 'from=<volume>@<timestamp>'");
    CHECK_THROWS_AS(pool.create_volume("qa", ephemeral_of("missing")), NotFound);
    CHECK(tree_listing(fsx.root()) == before);
}

TEST_CASE("ephemeral: each fresh clone keeps the volume's size limit", "[ephemeral]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("prod");
    VolumeOptions o = ephemeral_of("prod");
    o.size_limit = 8ULL << 20;
    Volume qa = pool.create_volume("qa", o);
    for (const std::string& id : {id1, id2}) {
        pool.mount_volume("qa", id);
        CHECK(pool.find_volume("qa")->size_limit == (8ULL << 20));
        CHECK(write_bytes(qa.path / "big", 16ULL << 20) == EDQUOT);
        CHECK(pool.unmount_volume("qa", id));
    }
}

TEST_CASE("ephemeral: a process killed at any step of the swap leaves the old or the new content, whole",
          "[ephemeral][seams]")
{
    require_test_seams();
    for (const char* step : {"ephemeral:copy-made", "ephemeral:exchanged"}) {
        DYNAMIC_SECTION(step)
        {
            BtrfsFixture fsx;
            fs::create_directories(fsx.root());
            {
                Pool pool(fsx.root());
                write_text(pool.create_volume("prod").path / "f", "prod");
                pool.create_volume("qa", ephemeral_of("prod"));
                write_text(fsx.root() / "volumes/qa/f", "old content");
            }
            pid_t pid = ::fork();
            if (pid == 0) {
                ::setenv("BUTTERVOLUME_TEST_KILL_AT", step, 1);
                try {
                    Pool pool(fsx.root());
                    pool.mount_volume("qa", id1);
                } catch (...) {
                }
                std::_Exit(0);
            }
            int status = 0;
            ::waitpid(pid, &status, 0);
            REQUIRE(WIFSIGNALED(status));
            CHECK(WTERMSIG(status) == SIGKILL);

            // Before the exchange the old content, after it the new: never a missing volume.
            const bool exchanged = std::string(step) == "ephemeral:exchanged";
            CHECK(read_text(fsx.root() / "volumes/qa/f") == (exchanged ? "prod" : "old content"));
            // The kill came before the mount was counted: the retried Mount clones afresh.
            Pool pool(fsx.root());
            CHECK(ls(fsx.root() / "volumes") == "prod\nqa\n");
            CHECK(pool.mount_count("qa") == 0);
            pool.mount_volume("qa", id1);
            CHECK(read_text(fsx.root() / "volumes/qa/f") == "prod");
            CHECK(pool.find_volume("qa")->ephemeral_source == "prod");
        }
    }
}

TEST_CASE("ephemeral: a create killed after its record, before the volume appears, leaves no trace",
          "[ephemeral][seams]")
{
    require_test_seams();
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    {
        Pool pool(fsx.root());
        pool.create_volume("prod");
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setenv("BUTTERVOLUME_TEST_KILL_AT", "create:ephemeral-recorded", 1);
        try {
            Pool pool(fsx.root());
            pool.create_volume("qa", ephemeral_of("prod"));
        } catch (...) {
        }
        std::_Exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    CHECK(fs::exists(fsx.root() / "state/ephemeral/qa"));
    Pool pool(fsx.root());
    CHECK_FALSE(pool.has_volume("qa"));
    CHECK_FALSE(fs::exists(fsx.root() / "state/ephemeral/qa"));
    CHECK(ls(fsx.root() / "volumes") == "prod\n");
    CHECK(pool.create_volume("qa", ephemeral_of("prod")).ephemeral_source == "prod");
}

TEST_CASE("ephemeral: a pool with ephemeral volumes and a stale record opens and reads on a read-only filesystem",
          "[ephemeral]")
{
    EphemeralPool e;
    e.pool.reset();
    // A record whose volume is gone, as a create killed before its rename leaves it.
    write_text(e.fsx.root() / "state/ephemeral/ghost", "from prod\n");
    sh(fmt::format("mount -o remount,ro '{}'", e.fsx.mnt().native()));
    Pool pool(e.fsx.root());
    CHECK(pool.find_volume("qa")->ephemeral_source == "prod");
    CHECK(pool.volume_names() == std::vector<std::string>{"prod", "qa"});
    sh(fmt::format("mount -o remount,rw '{}'", e.fsx.mnt().native()));
    // Writable again: the next open removes the stale record.
    Pool again(e.fsx.root());
    CHECK_FALSE(fs::exists(e.fsx.root() / "state/ephemeral/ghost"));
    CHECK(fs::exists(e.fsx.root() / "state/ephemeral/qa"));
}
