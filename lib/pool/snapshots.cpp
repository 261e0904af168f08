// SPDX-License-Identifier: Apache-2.0
// Pool's snapshot operations: snapshot, list, find, remove, and the cheap per-volume count.
// Restore is in restore.cpp, purge in purge.cpp.
#include "pool/pool_impl.hpp"

#include "base/sys.hpp"

#include "btrfs/subvolume.hpp"

#include <buttervolume/names.hpp>

namespace buttervolume {

Snapshot Pool::snapshot(std::string_view volume)
{
    check_volume_name(volume);
    const Impl& p = *impl_;
    VolumeLock lock = p.layout.lock(volume);
    UniqueFd source = p.snapshots.open_source(volume, fmt::format("snapshot of volume '{}'", volume));
    SnapshotRecords::Change change(p.records, volume);
    std::string name = p.snapshots.take(source.get(), volume);
    change.added();
    change.finish([&] { return p.snapshots.count(volume); });
    auto s = p.snapshots.read(*parse_snapshot_name(name), p.quota.enabled(), change.record());
    if (!s)
        throw NotFound(fmt::format("snapshot '{}' vanished right after it was made", name));
    return *s;
}

std::vector<Snapshot> Pool::snapshots(std::optional<std::string_view> volume) const
{
    const Impl& p = *impl_;
    if (!volume)
        return p.snapshots.read_all(p.snapshots.scan(std::nullopt));
    check_volume_name(*volume);
    // Listing one volume counts its snapshots anyway: refresh the record when nobody is changing
    // the volume (a held lock means a change is under way and will write its own count).
    std::vector<SnapshotName> names;
    {
        VolumeLock lock = p.layout.try_lock(*volume);
        names = p.snapshots.scan(volume);
        if (lock.held())
            p.records.store_count(*volume, names.size());
    }
    // Reading each snapshot's info needs no lock: one deleted meanwhile is simply not listed.
    return p.snapshots.read_all(names);
}

std::optional<Snapshot> Pool::find_snapshot(std::string_view name) const
{
    SnapshotName sn = check_snapshot_name(name);
    const Impl& p = *impl_;
    return p.snapshots.read(sn, p.quota.enabled(), p.records.read(sn.volume));
}

void Pool::remove_snapshot(std::string_view name)
{
    // Checked before any syscall: the Python project joined "x@/../../volumes/v" onto its
    // snapshots path and deleted a volume.
    SnapshotName sn = check_snapshot_name(name);
    const Impl& p = *impl_;
    const std::string n(name);
    VolumeLock lock = p.layout.lock(sn.volume);
    if (!btrfs::is_subvolume_at(p.layout.snapshots().fd(), n.c_str()))
        throw NotFound(fmt::format("remove snapshot '{}': no such snapshot", name));
    SnapshotRecords::Change change(p.records, sn.volume);
    p.snapshots.remove(n);
    change.removed(n);
    change.finish([&] { return p.snapshots.count(sn.volume); });
}

std::size_t Pool::snapshot_count(std::string_view volume) const
{
    check_volume_name(volume);
    const Impl& p = *impl_;
    if (auto known = p.records.read(volume).count)
        return *known;
    // No record (a volume nothing changed since it came from elsewhere), or an interrupted
    // change: the store's count of every volume, from one pass over snapshots/. Nothing is
    // written, so a Get works on a full or read-only pool.
    return p.snapshots.count(volume);
}

} // namespace buttervolume
