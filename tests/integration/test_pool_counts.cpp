// SPDX-License-Identifier: Apache-2.0
// The pool's counts (statistics, snapshot_count, newest_snapshots) follow every change at once,
// whoever makes it, and count only volumes and snapshots.
#include "../catch.hpp"
#include "fixture.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// of_a: the snapshot count of volume a, which our own changes keep in its record (a change by
// another program is not checked: Get trusts that record).
void check_counts(const Pool& pool, std::size_t volumes, std::size_t snapshots, std::optional<std::size_t> of_a = {})
{
    PoolStatistics s = pool.statistics();
    CHECK(s.volumes == volumes);
    CHECK(s.snapshots == snapshots);
    if (of_a)
        CHECK(pool.snapshot_count("a") == *of_a);
}

} // namespace

TEST_CASE("pool counts: follow creates and removes at once, by us or by btrfs-progs; strays are not counted", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    pool.create_volume("a");
    pool.create_volume("b");
    Snapshot a1 = pool.snapshot("a");
    pool.snapshot("a");
    pool.snapshot("b");
    // Strays: plain folders (one with a snapshot's name), a file, a subvolume that is no snapshot.
    fs::create_directory(fsx.root() / "volumes" / "plain");
    fs::create_directory(fsx.root() / "snapshots" / "a@2026-12-01T08:00:00.000000");
    std::ofstream(fsx.root() / "snapshots" / "b@2026-12-01T09:00:00.000000") << "x";
    sh(fmt::format("btrfs -q subvolume create '{}'", (fsx.root() / "snapshots" / "junk").native()));
    check_counts(pool, 2, 3, 2);
    CHECK(pool.newest_snapshots().size() == 2);

    // A removed snapshot or volume is gone from the counts at the next call, not at the next
    // commit (btrfs keeps a directory's index entries in delayed items until then).
    pool.remove_snapshot(a1.name);
    check_counts(pool, 2, 2, 1);
    pool.remove_volume("b");
    check_counts(pool, 1, 2, 1);
    pool.create_volume("c");
    check_counts(pool, 2, 2, 1);

    // Past the folder caches' one-second window, a change by another program is still seen.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    check_counts(pool, 2, 2, 1);
    Snapshot a2 = pool.snapshots("a").front();
    sh(fmt::format("btrfs -q subvolume delete '{}'", (fsx.root() / "snapshots" / a2.name).native()));
    sh(fmt::format("btrfs -q subvolume delete '{}'", (fsx.root() / "volumes" / "c").native()));
    check_counts(pool, 1, 1);
    sh(fmt::format("btrfs -q subvolume snapshot -r '{}' '{}'", (fsx.root() / "volumes" / "a").native(),
                   (fsx.root() / "snapshots" / "a@2026-12-02T08:00:00.000000").native()));
    check_counts(pool, 1, 2);
}
