// SPDX-License-Identifier: Apache-2.0
// The volume lifecycle of libbuttervolume on a real btrfs, checked with btrfs-progs and e2fsprogs.
#include "../catch.hpp"
#include "files.hpp"
#include "fixture.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <cerrno>
#include <fstream>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("pool: opening creates the layout; a root off btrfs is refused", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    for (const char* d : {"volumes", "snapshots", "config", "state"})
        CHECK(fs::is_directory(fsx.root() / d));
    CHECK(pool.volume_names().empty());

    fs::path plain = scratch_dir() / "not-btrfs";
    fs::create_directories(plain);
    CHECK_THROWS_AS(Pool(plain), NotBtrfs);
    CHECK_THROWS_WITH(Pool(plain), Catch::Contains("is not on a btrfs filesystem"));
    CHECK_THROWS_AS(Pool(scratch_dir() / "missing"), NotFound);
}

TEST_CASE("pool: create makes a subvolume that is found, listed and removed", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    CHECK(v.name == "db");
    CHECK(v.path == fsx.root() / "volumes" / "db");
    CHECK(v.copy_on_write);
    CHECK_FALSE(v.compression);
    CHECK(v.uuid.size() == 36);
    auto age = std::chrono::system_clock::now() - v.created;
    CHECK(age < std::chrono::minutes(1));
    CHECK(age > -std::chrono::minutes(1));
    // btrfs-progs agrees that it is a subvolume, with the same UUID.
    std::string show = sh(fmt::format("btrfs subvolume show '{}'", v.path.native()));
    CHECK_THAT(show, Catch::Contains(v.uuid));

    auto found = pool.find_volume("db");
    REQUIRE(found);
    CHECK(found->uuid == v.uuid);
    CHECK_FALSE(pool.find_volume("other"));
    CHECK(pool.has_volume("db"));
    CHECK(pool.volume_names() == std::vector<std::string>{"db"});
    CHECK(pool.volumes().size() == 1);

    std::ofstream(v.path / "data") << "hello";
    pool.remove_volume("db");
    CHECK_FALSE(fs::exists(v.path));
    CHECK_FALSE(pool.find_volume("db"));
    CHECK_THROWS_AS(pool.remove_volume("db"), NotFound);
    CHECK_THROWS_WITH(pool.remove_volume("db"), "remove volume 'db': no such volume");
}

TEST_CASE("pool: copyonwrite=false sets the C attribute that new files inherit", "[pool][options]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("nocow", VolumeOptions::parse({{"copyonwrite", "false"}}));
    CHECK_FALSE(v.copy_on_write);
    std::string attrs = sh(fmt::format("lsattr -d '{}'", v.path.native()));
    CHECK_THAT(attrs.substr(0, attrs.find(' ')), Catch::Contains("C"));
    std::ofstream(v.path / "db.file") << "x";
    std::string file_attrs = sh(fmt::format("lsattr '{}'", (v.path / "db.file").native()));
    CHECK_THAT(file_attrs.substr(0, file_attrs.find(' ')), Catch::Contains("C"));

    Volume cow = pool.create_volume("cow");
    std::string cow_attrs = sh(fmt::format("lsattr -d '{}'", cow.path.native()));
    CHECK_THAT(cow_attrs.substr(0, cow_attrs.find(' ')), !Catch::Contains("C"));
    CHECK(cow.copy_on_write);
}

TEST_CASE("pool: compression sets the btrfs property", "[pool][options]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    for (auto [value, expected] : {std::pair{"zstd", Compression::Zstd}, std::pair{"lzo", Compression::Lzo},
                                   std::pair{"zlib", Compression::Zlib}}) {
        std::string name = fmt::format("c-{}", value);
        Volume v = pool.create_volume(name, VolumeOptions::parse({{"compression", value}}));
        CHECK(v.compression == expected);
        std::string prop = sh(fmt::format("btrfs property get '{}' compression", v.path.native()));
        CHECK(prop == fmt::format("compression={}\n", value));
        CHECK(pool.find_volume(name)->compression == expected);
    }
    Volume none = pool.create_volume("c-none", VolumeOptions::parse({{"compression", "none"}}));
    CHECK(none.compression == Compression::None);
    // Idempotent create must read back exactly what it wrote.
    CHECK_NOTHROW(pool.create_volume("c-none", VolumeOptions::parse({{"compression", "none"}})));
}

TEST_CASE("pool: size limit is a qgroup limit and writes past it fail with EDQUOT", "[pool][options][quota]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("small", VolumeOptions::parse({{"size", "16M"}}));
    CHECK(v.size_limit == (16ULL << 20));
    CHECK(pool.find_volume("small")->size_limit == (16ULL << 20));
    // btrfs-progs sees the limit on the volume's qgroup.
    std::string qgroups = sh(fmt::format("btrfs qgroup show -re --raw '{}'", fsx.mnt().native()));
    CHECK_THAT(qgroups, Catch::Contains(fmt::format("0/{}", v.subvolume_id)));
    CHECK_THAT(qgroups, Catch::Contains(std::to_string(16ULL << 20)));

    CHECK(write_bytes(v.path / "fits", 4ULL << 20) == 0);
    CHECK(write_bytes(v.path / "too-big", 32ULL << 20) == EDQUOT);
    // An unlimited volume on the same filesystem is not limited.
    Volume big = pool.create_volume("big");
    CHECK_FALSE(big.size_limit);
    CHECK(write_bytes(big.path / "large", 32ULL << 20) == 0);
    auto used = pool.find_volume("big")->size_used;
    REQUIRE(used);
    CHECK(*used >= (32ULL << 20));
}

TEST_CASE("pool: create is idempotent for equal options and names the difference otherwise", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    auto opts = VolumeOptions::parse({{"size", "64M"}, {"compression", "zstd"}});
    Volume a = pool.create_volume("db", opts);
    std::ofstream(a.path / "keep") << "data";
    Volume b = pool.create_volume("db", opts);
    CHECK(a.uuid == b.uuid);
    CHECK(read_text(b.path / "keep") == "data");

    CHECK_THROWS_AS(pool.create_volume("db", VolumeOptions::parse({{"size", "128M"}})), AlreadyExists);
    CHECK_THROWS_WITH(pool.create_volume("db", VolumeOptions::parse({{"size", "128M"}, {"compression", "zstd"}})),
                      "volume 'db' already exists with other options: size is 64M, asked 128M");
    CHECK_THROWS_WITH(pool.create_volume("db", VolumeOptions::parse({{"copyonwrite", "false"}})),
                      Catch::Contains("copyonwrite is true, asked false") &&
                          Catch::Contains("compression is zstd, asked default") &&
                          Catch::Contains("size is 64M, asked unlimited"));
    CHECK(pool.find_volume("db")->uuid == a.uuid);
    CHECK(read_text(a.path / "keep") == "data");
}

TEST_CASE("pool: from= makes a writable snapshot of a volume", "[pool][options]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume src = pool.create_volume("src");
    std::ofstream(src.path / "file") << "original";
    Volume clone = pool.create_volume("clone", VolumeOptions::parse({{"from", "src"}}));
    CHECK(read_text(clone.path / "file") == "original");
    std::ofstream(clone.path / "file") << "changed";
    CHECK(read_text(src.path / "file") == "original");
    std::string show = sh(fmt::format("btrfs subvolume show '{}'", clone.path.native()));
    CHECK_THAT(show, Catch::Contains(fmt::format("Parent UUID: \t\t{}", src.uuid)));
    CHECK_NOTHROW(pool.create_volume("clone", VolumeOptions::parse({{"from", "src"}})));
    CHECK_THROWS_AS(pool.create_volume("clone", VolumeOptions::parse({{"from", "other"}})), NotFound);
    pool.create_volume("other");
    CHECK_THROWS_WITH(pool.create_volume("clone", VolumeOptions::parse({{"from", "other"}})),
                      Catch::Contains("it is not a clone of 'other'"));
    CHECK_THROWS_AS(pool.create_volume("x", VolumeOptions::parse({{"from", "missing"}})), NotFound);
    CHECK_FALSE(pool.has_volume("x"));
}

TEST_CASE("pool: remove deletes nested subvolumes and keeps the volume's snapshots", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    Volume v = pool.create_volume("db");
    std::ofstream(v.path / "data") << "v1";
    // A snapshot as the Python project (and `buttervolume snapshot`) lays it out.
    fs::path snap = fsx.root() / "snapshots" / "db@2024-01-01T00:00:00.000000";
    sh(fmt::format("btrfs subvolume snapshot -r '{}' '{}'", v.path.native(), snap.native()));
    // A container made subvolumes inside the volume (docker-in-docker does).
    sh(fmt::format("btrfs subvolume create '{}/inner' && btrfs subvolume create '{}/inner/deeper'", v.path.native(),
                   v.path.native()));
    pool.remove_volume("db");
    CHECK_FALSE(fs::exists(v.path));
    CHECK(read_text(snap / "data") == "v1");
    std::string list = sh(fmt::format("btrfs subvolume list '{}'", fsx.mnt().native()));
    CHECK_THAT(list, !Catch::Contains("inner"));
    CHECK_THAT(list, Catch::Contains("db@2024-01-01T00:00:00.000000"));
    CHECK(fs::is_empty(fsx.root() / "volumes"));
}

TEST_CASE("pool: leftovers of an interrupted create are removed at open and never listed", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    { Pool pool(fsx.root()); }
    fs::path vols = fsx.root() / "volumes";
    sh(fmt::format("btrfs subvolume create '{}/.tmp.db.00000000deadbeef'", vols.native()));
    sh(fmt::format("btrfs subvolume create '{}/.trash.old.00000000deadbeef'", vols.native()));
    // A plain directory and a file that are not volumes: listed never, deleted never.
    fs::create_directories(vols / "plain-dir");
    std::ofstream(vols / "metadata.db") << "python 1.x leftover";
    {
        Pool pool(fsx.root());
        CHECK(pool.volume_names().empty());
        CHECK(pool.volumes().empty());
    }
    CHECK_FALSE(fs::exists(vols / ".tmp.db.00000000deadbeef"));
    CHECK_FALSE(fs::exists(vols / ".trash.old.00000000deadbeef"));
    CHECK(fs::exists(vols / "plain-dir"));
    CHECK(fs::exists(vols / "metadata.db"));
    // Create refuses to replace the plain directory.
    Pool pool(fsx.root());
    CHECK_THROWS_WITH(pool.create_volume("plain-dir"), Catch::Contains("exists and is not a btrfs subvolume"));
}

TEST_CASE("pool: a temporary volume whose creator still runs is left alone", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    { Pool pool(fsx.root()); }
    fs::path vols = fsx.root() / "volumes";
    sh(fmt::format("btrfs subvolume create '{}/.tmp.busy.00000000deadbeef'", vols.native()));
    // Another process holds the lock of "busy", as a creator at work would.
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t holder = ::fork();
    if (holder == 0) {
        int fd = ::open((fsx.root() / "state/locks/busy").c_str(), O_RDWR | O_CREAT, 0600);
        ::flock(fd, LOCK_EX);
        char c = 1;
        (void)!::write(ready[1], &c, 1);
        ::pause();
        std::_Exit(0);
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    {
        Pool pool(fsx.root());
        CHECK(fs::exists(vols / ".tmp.busy.00000000deadbeef"));
        CHECK(pool.volume_names().empty());
    }
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    Pool pool(fsx.root());
    CHECK_FALSE(fs::exists(vols / ".tmp.busy.00000000deadbeef"));
}

TEST_CASE("pool: bad names and options are refused and change nothing on disk", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("keep");
    std::string before = tree_listing(fsx.mnt());
    std::string subvols_before = sh(fmt::format("btrfs subvolume list '{}'", fsx.mnt().native()));
    for (const char* bad : {"", "..", ".", "a/b", "../keep", "a@b", "-x", ".tmp.keep.1", "x\ny"}) {
        INFO(bad);
        CHECK_THROWS_AS(pool.create_volume(bad), InvalidArgument);
        CHECK_THROWS_AS(pool.remove_volume(bad), InvalidArgument);
        CHECK_THROWS_AS(pool.find_volume(bad), InvalidArgument);
    }
    CHECK_THROWS_AS(pool.create_volume(std::string(256, 'a')), InvalidArgument);
    // Options built in code (not parsed) are checked again by the pool.
    VolumeOptions traversal;
    traversal.from = "../keep";
    CHECK_THROWS_AS(pool.create_volume("ok", traversal), InvalidArgument);
    traversal.from = "keep@../../x";
    CHECK_THROWS_AS(pool.create_volume("ok", traversal), InvalidArgument);
    CHECK(tree_listing(fsx.mnt()) == before);
    CHECK(sh(fmt::format("btrfs subvolume list '{}'", fsx.mnt().native())) == subvols_before);
}

TEST_CASE("pool: two processes creating and removing one name leave a consistent state", "[pool][concurrency]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    { Pool pool(fsx.root()); }
    std::vector<pid_t> children;
    for (int c = 0; c < 2; ++c) {
        pid_t pid = ::fork();
        if (pid == 0) {
            int failures = 0;
            try {
                Pool pool(fsx.root());
                for (int i = 0; i < 40; ++i) {
                    try {
                        Volume v = pool.create_volume("race");
                        if (v.name != "race")
                            ++failures;
                    } catch (const AlreadyExists&) {
                        ++failures; // equal options must never conflict
                    }
                    try {
                        pool.remove_volume("race");
                    } catch (const NotFound&) {
                        // the other process removed it first: fine
                    }
                }
            } catch (...) {
                std::_Exit(2);
            }
            std::_Exit(failures == 0 ? 0 : 1);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    Pool pool(fsx.root());
    auto names = pool.volume_names();
    CHECK(names.size() <= 1);
    // Only the volume itself (if present): no temporaries, no trash.
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(fsx.root() / "volumes")) {
        CHECK(e.path().filename() == "race");
        ++entries;
    }
    CHECK(entries == names.size());
    std::string list = sh(fmt::format("btrfs subvolume list '{}'", fsx.mnt().native()));
    CHECK_THAT(list, !Catch::Contains(".tmp.") && !Catch::Contains(".trash."));
}

TEST_CASE("pool: the Python project's path variables are honoured through PoolPaths", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    auto paths = PoolPaths::under(fsx.root());
    paths.volumes = fsx.mnt() / "elsewhere-volumes";
    Pool pool(paths);
    Volume v = pool.create_volume("moved");
    CHECK(v.path == fsx.mnt() / "elsewhere-volumes" / "moved");
    CHECK(fs::is_directory(v.path));
}

TEST_CASE("mounts: counts per mount id are persisted and protect the volume from removal", "[pool][mounts]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    const std::string id1(64, 'a'), id2(64, 'b');
    {
        Pool pool(fsx.root());
        Volume v = pool.create_volume("db");
        std::ofstream(v.path / "data") << "precious";
        CHECK(pool.mount_count("db") == 0);
        CHECK(pool.mount_volume("db", id1) == v.path);
        CHECK(pool.mount_volume("db", id1) == v.path); // docker cp on a running container
        CHECK(pool.mount_volume("db", id2) == v.path);
        CHECK(pool.mount_count("db") == 3);
        CHECK_THROWS_AS(pool.mount_volume("missing", id1), NotFound);
        CHECK_THROWS_AS(pool.mount_volume("db", "bad id"), InvalidArgument);
        CHECK_THROWS_AS(pool.mount_volume("db", ""), InvalidArgument);
    }
    // Another process (a restarted daemon) sees the same counts.
    Pool pool(fsx.root());
    CHECK(pool.mount_count("db") == 3);
    CHECK_THROWS_AS(pool.remove_volume("db"), Busy);
    CHECK_THROWS_WITH(pool.remove_volume("db"), Catch::Contains("remove volume 'db': it is mounted (3 mounts)"));
    CHECK(read_text(fsx.root() / "volumes/db/data") == "precious");

    CHECK(pool.unmount_volume("db", id1));
    CHECK(pool.unmount_volume("db", id2));
    CHECK_FALSE(pool.unmount_volume("db", id2)); // an id never counted (or already gone)
    CHECK_FALSE(pool.unmount_volume("other", id1));
    CHECK(pool.mount_count("db") == 1);
    CHECK_THROWS_AS(pool.remove_volume("db"), Busy);
    CHECK(pool.unmount_volume("db", id1));
    CHECK(pool.mount_count("db") == 0);
    CHECK_NOTHROW(pool.remove_volume("db"));
}

TEST_CASE("mounts: counts from another boot are void, and force removes a mounted volume", "[pool][mounts]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("db");
    pool.mount_volume("db", "container-1");
    CHECK(pool.mount_count("db") == 1);
    // Rewrite the recorded boot id as a reboot would leave it.
    fs::path state = fsx.root() / "state/mounts/db";
    std::string text = read_text(state);
    REQUIRE(text.starts_with("boot "));
    std::ofstream(state) << "boot 00000000-0000-0000-0000-000000000000\ncontainer-1 1\n";
    CHECK(pool.mount_count("db") == 0);
    CHECK(pool.mount_volume("db", "container-2") == fsx.root() / "volumes/db");
    CHECK(pool.mount_count("db") == 1);

    CHECK_THROWS_AS(pool.remove_volume("db"), Busy);
    RemoveOptions force;
    force.force = true;
    pool.remove_volume("db", force);
    CHECK_FALSE(pool.has_volume("db"));
    CHECK_FALSE(fs::exists(state));
    pool.create_volume("db");
    CHECK(pool.mount_count("db") == 0);
}

TEST_CASE("pool: a volume with the longest accepted name goes through its whole life", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    const std::string name(max_volume_name_bytes, 'n');
    Volume v = pool.create_volume(name, VolumeOptions::parse({{"size", "16M"}}));
    CHECK(pool.mount_volume(name, "id") == v.path);
    CHECK(pool.unmount_volume(name, "id"));
    Snapshot s = pool.snapshot(name);
    CHECK(s.name.size() == 255);
    pool.restore(s.name);
    CHECK(pool.snapshot_count(name) == 2);
    pool.remove_volume(name);
    CHECK_FALSE(pool.has_volume(name));
    CHECK_THROWS_WITH(pool.create_volume(name + "n"), Catch::Contains("the limit is 228"));
}
