// SPDX-License-Identifier: Apache-2.0
// Pool's snapshot operations: snapshot, list, find, remove, clone, purge, and the cheap
// per-volume snapshot count. Restore is in restore.cpp.
#include "btrfs/subvolume.hpp"
#include "snapshot_ops.hpp"
#include "sys.hpp"
#include "test_hook.hpp"

#include <buttervolume/names.hpp>
#include <buttervolume/replication.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace buttervolume {

using Clock = std::chrono::system_clock;

Snapshot Pool::snapshot(std::string_view volume)
{
    check_volume_name(volume);
    Impl& p = *impl_;
    VolumeLock lock = p.lock(volume);
    UniqueFd source = open_source(p, volume, fmt::format("snapshot of volume '{}'", volume));
    UniqueFd state = open_snapshot_state(p.state.get(), true);
    SnapshotRecord rec = read_snapshot_record(state.get(), volume);
    auto before = begin_count_change(state.get(), volume, rec);
    std::string name = take_snapshot(p, source.get(), volume);
    if (before) {
        rec.count = *before + 1;
        write_snapshot_record(state.get(), volume, rec);
    }
    auto s = read_snapshot(p, *parse_snapshot_name(name), p.quota->enabled(), rec);
    if (!s)
        throw NotFound(fmt::format("snapshot '{}' vanished right after it was made", name));
    return *s;
}

std::vector<Snapshot> Pool::snapshots(std::optional<std::string_view> volume) const
{
    if (!volume)
        return read_snapshots(*impl_, scan_snapshots(*impl_, std::nullopt));
    check_volume_name(*volume);
    // Listing one volume counts its snapshots anyway: refresh the record when nobody is changing
    // the volume (a held lock means a change is under way and will write its own count).
    std::vector<SnapshotName> names;
    {
        VolumeLock lock = VolumeLock::try_lock(impl_->locks.get(), *volume);
        names = scan_snapshots(*impl_, volume);
        if (lock.held()) {
            UniqueFd state = open_snapshot_state(impl_->state.get(), true);
            SnapshotRecord rec = read_snapshot_record(state.get(), *volume);
            if (rec.count != names.size()) {
                rec.count = names.size();
                write_snapshot_record(state.get(), *volume, rec);
            }
        }
    }
    // Reading each snapshot's info needs no lock: one deleted meanwhile is simply not listed.
    return read_snapshots(*impl_, names);
}

std::optional<Snapshot> Pool::find_snapshot(std::string_view name) const
{
    SnapshotName sn = check_snapshot_name(name);
    UniqueFd state = open_snapshot_state(impl_->state.get(), false);
    return read_snapshot(*impl_, sn, impl_->quota->enabled(), read_snapshot_record(state.get(), sn.volume));
}

void Pool::remove_snapshot(std::string_view name)
{
    // Checked before any syscall: the Python project joined "x@/../../volumes/v" onto its
    // snapshots path and deleted a volume.
    SnapshotName sn = check_snapshot_name(name);
    Impl& p = *impl_;
    const std::string n(name);
    VolumeLock lock = p.lock(sn.volume);
    if (!btrfs::is_subvolume_at(p.snapshots.get(), n.c_str()))
        throw NotFound(fmt::format("remove snapshot '{}': no such snapshot", name));
    UniqueFd state = open_snapshot_state(p.state.get(), true);
    SnapshotRecord rec = read_snapshot_record(state.get(), sn.volume);
    auto before = begin_count_change(state.get(), sn.volume, rec);
    btrfs::delete_subvolume(p.snapshots.get(), n.c_str(), false, (p.paths.snapshots / n).native());
    if (before && *before > 0)
        rec.count = *before - 1;
    rec.safety.erase(n);
    write_snapshot_record(state.get(), sn.volume, rec);
}

std::size_t Pool::snapshot_count(std::string_view volume) const
{
    check_volume_name(volume);
    const Impl& p = *impl_;
    UniqueFd state = open_snapshot_state(p.state.get(), false);
    SnapshotRecord rec = read_snapshot_record(state.get(), volume);
    if (rec.count)
        return *rec.count;
    // No record yet (or an interrupted change): count once, and keep the result when the
    // volume is idle.
    VolumeLock lock = VolumeLock::try_lock(p.locks.get(), volume);
    std::size_t n = scan_snapshots(p, volume).size();
    if (lock.held()) {
        state = open_snapshot_state(p.state.get(), true);
        rec = read_snapshot_record(state.get(), volume);
        rec.count = n;
        // Get calls this: an fsync here cost ~1 ms per first Get of each volume.
        write_snapshot_record(state.get(), volume, rec, false);
    }
    return n;
}

Volume Pool::clone(std::string_view source, std::string_view target)
{
    check_volume_name(target);
    Impl& p = *impl_;
    const std::string t(target);
    const std::string what = fmt::format("clone '{}' to volume '{}'", source, target);
    UniqueFd src = open_source(p, source, what);
    VolumeLock lock = p.lock(target);
    if (::faccessat(p.volumes.get(), t.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        throw AlreadyExists(fmt::format("{}: volume '{}' already exists", what, target));
    std::string tmp = fmt::format("{}{}.{}", tmp_prefix, target, random_suffix());
    const std::string shown = (p.paths.volumes / t).native();
    btrfs::create_snapshot(src.get(), p.volumes.get(), tmp.c_str(), false, shown);
    if (::renameat2(p.volumes.get(), tmp.c_str(), p.volumes.get(), t.c_str(), RENAME_NOREPLACE) < 0) {
        int err = errno;
        try {
            btrfs::delete_subvolume(p.volumes.get(), tmp.c_str(), true, shown);
        } catch (...) {
            // Left for remove_leftovers at the next open.
        }
        throw_errno(err, fmt::format("{}: rename into place", what));
    }
    // Mount counts left by an earlier volume of this name are not this one's.
    p.write_mounts(target, {});
    UniqueFd fd = open_dir_at(p.volumes.get(), t.c_str(), shown);
    return p.read_volume(fd.get(), target);
}

std::vector<PurgeDecision> Pool::purge(std::string_view volume, const RetentionPattern& pattern,
                                       const PurgeOptions& opts)
{
    check_volume_name(volume);
    Impl& p = *impl_;
    VolumeLock lock = p.lock(volume);
    auto snaps = read_snapshots(p, scan_snapshots(p, volume));
    std::vector<Clock::time_point> times;
    std::vector<std::string> names;
    for (const auto& s : snaps) {
        times.push_back(s.time);
        names.push_back(s.name);
    }
    auto verdicts = decide_retention(pattern, times, opts.now.value_or(test_now()), names);
    // The parents the next incremental send to each target needs (lib/replicate/targets.cpp).
    std::map<std::string, std::string> protect = opts.protect;
    for (auto& [name, why] : replication_parents(p.paths, volume))
        protect.emplace(name, why);
    std::vector<PurgeDecision> out;
    for (std::size_t i = 0; i < snaps.size(); ++i) {
        out.push_back({snaps[i], verdicts[i].keep, verdicts[i].reason, false});
        if (auto it = protect.find(snaps[i].name); it != protect.end() && !verdicts[i].keep) {
            out.back().keep = true;
            out.back().reason = fmt::format("protected: {} (retention alone: {})", it->second, verdicts[i].reason);
        }
    }

    UniqueFd state = open_snapshot_state(p.state.get(), true);
    SnapshotRecord rec = read_snapshot_record(state.get(), volume);
    std::size_t remaining = snaps.size();
    if (!opts.dry_run && std::any_of(out.begin(), out.end(), [](const auto& d) { return !d.keep; })) {
        rec.count.reset();
        write_snapshot_record(state.get(), volume, rec);
        for (auto& d : out) {
            if (d.keep)
                continue;
            btrfs::delete_subvolume(p.snapshots.get(), d.snapshot.name.c_str(), false, d.snapshot.path.native());
            d.deleted = true;
            --remaining;
            rec.safety.erase(d.snapshot.name);
        }
    }
    // Safety names whose snapshot is gone (deleted by hand) are dropped here too.
    for (auto it = rec.safety.begin(); it != rec.safety.end();) {
        bool present = std::any_of(out.begin(), out.end(),
                                   [&](const auto& d) { return d.snapshot.name == *it && !d.deleted; });
        it = present ? std::next(it) : rec.safety.erase(it);
    }
    rec.count = remaining;
    write_snapshot_record(state.get(), volume, rec);
    return out;
}

} // namespace buttervolume
