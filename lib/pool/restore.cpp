// SPDX-License-Identifier: Apache-2.0
// Pool::restore: a safety snapshot of the target, the new content built under a temporary
// name, then renameat2(RENAME_EXCHANGE), so the volume is never missing, even after a crash.
#include "pool/pool_impl.hpp"

#include "base/mountinfo.hpp"
#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"
#include "pool/test_seams.hpp"

#include <buttervolume/names.hpp>

#include <algorithm>

namespace buttervolume {

namespace {

// Locks of two volumes, taken in name order so that two restores between the same volumes
// cannot deadlock.
std::vector<VolumeLock> lock_both(const PoolLayout& layout, std::string_view a, std::string_view b)
{
    std::vector<VolumeLock> locks;
    if (a == b) {
        locks.push_back(layout.lock(a));
    } else {
        locks.push_back(layout.lock(std::min(a, b)));
        locks.push_back(layout.lock(std::max(a, b)));
    }
    return locks;
}

// The target's current content when it exists, refused when a snapshot could not keep it all.
UniqueFd open_target(const Dir& volumes, const std::string& t, const std::string& what, bool force)
{
    UniqueFd old;
    if (!volumes.exists(t))
        return old;
    const std::string shown = volumes.path(t).native();
    old = volumes.try_open_dir(t);
    if (!old || !btrfs::is_subvolume_root(old.get()))
        throw AlreadyExists(fmt::format("{}: '{}' exists and is not a btrfs subvolume", what, shown));
    // A snapshot does not include nested subvolumes (a container's own btrfs subvolumes):
    // the safety snapshot would not keep them, and replacing the volume would delete them.
    auto nested = btrfs::nested_subvolume_names(old.get(), shown);
    if (nested && !nested->empty() && !force)
        throw Busy(fmt::format("{}: the volume contains {} nested subvolume{} (first: '{}') that a snapshot does "
                               "not keep; restoring would delete them; move them out, or force the restore",
                               what, nested->size(), nested->size() == 1 ? "" : "s", nested->front()));
    return old;
}

// The newest snapshot of volume that is not the safety snapshot of an earlier restore:
// restoring twice gives the same content (the Python project swapped back to the backup).
Snapshot newest_restorable(const SnapshotStore& store, const std::string& volume)
{
    auto snaps = store.read_all(store.scan(volume));
    auto it = std::find_if(snaps.rbegin(), snaps.rend(), [](const Snapshot& s) { return !s.safety; });
    if (it == snaps.rend())
        throw NotFound(fmt::format("restore volume '{}': it has no snapshot to restore{}", volume,
                                   snaps.empty() ? "" : " (only safety snapshots of earlier restores)"));
    return *it;
}

} // namespace

RestoreResult Pool::restore(std::string_view source, std::optional<std::string_view> target,
                            const RestoreOptions& opts)
{
    const Impl& p = *impl_;
    bool by_volume = source.find('@') == std::string_view::npos;
    std::string source_volume = by_volume ? (check_volume_name(source), std::string(source))
                                          : check_snapshot_name(source).volume;
    if (target)
        check_volume_name(*target);
    const std::string t(target ? *target : std::string_view(source_volume));
    const std::string shown = p.layout.volumes().path(t).native();
    auto locks = lock_both(p.layout, source_volume, t);

    RestoreResult result;
    result.target = t;
    if (by_volume) {
        result.source = newest_restorable(p.snapshots, source_volume);
    } else if (auto s = find_snapshot(source)) {
        result.source = *s;
    } else {
        throw NotFound(fmt::format("restore '{}': no such snapshot", source));
    }
    const std::string what = fmt::format("restore '{}' into volume '{}'", result.source.name, t);
    UniqueFd src = p.snapshots.open_source(result.source.name, what);

    if (!opts.force) {
        // Replacing a volume under a running container leaves it writing into deleted data.
        if (std::size_t n = p.mounts.total(t))
            throw Busy(fmt::format("{}: the volume is mounted by {} container mount{}; stop them, or force the restore",
                                   what, n, n == 1 ? "" : "s"));
        if (auto where = mount_of(p.layout.volumes().path(t)))
            throw Busy(fmt::format("{}: the volume is {}; unmount it, or force the restore", what, *where));
    }
    UniqueFd old = open_target(p.layout.volumes(), t, what, opts.force);

    std::optional<SnapshotRecords::Change> change;
    if (old) {
        change.emplace(p.records, t);
        // The name is recorded before the snapshot exists: a crash can leave a record with no
        // snapshot (harmless), never a safety snapshot that passes for an ordinary one.
        result.safety_snapshot = p.snapshots.take(old.get(), t, [&](const std::string& name) {
            change->mark_safety(name);
            test_kill_point("restore:safety-recorded");
        });
        change->added();
        test_kill_point("restore:safety-taken");
    }

    // The new content is built under a temporary name that the next Pool open removes if we die;
    // after the exchange the previous content, kept in the safety snapshot, is deleted.
    try {
        p.volumes.replace(t, old ? old.get() : -1, src.get(), what, "restore");
    } catch (...) {
        if (change)
            change->finish([&] { return p.snapshots.count(t); }); // the safety snapshot exists
        throw;
    }
    if (!old) {
        // Counts and records left by an earlier volume of this name are not this one's.
        p.mounts.forget(t);
        p.ephemeral.forget(t);
    }
    if (change)
        change->finish([&] { return p.snapshots.count(t); });
    return result;
}

} // namespace buttervolume
