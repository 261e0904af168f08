// SPDX-License-Identifier: Apache-2.0
// Pool::restore: a safety snapshot of the target, the new content built under a temporary
// name, then renameat2(RENAME_EXCHANGE), so the volume is never missing, even after a crash.
#include "btrfs/subvolume.hpp"
#include "mountinfo.hpp"
#include "snapshot_ops.hpp"
#include "sys.hpp"
#include "test_hook.hpp"

#include <buttervolume/names.hpp>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>

namespace buttervolume {

namespace {

// Locks of two volumes, taken in name order so that two restores between the same volumes
// cannot deadlock.
std::vector<VolumeLock> lock_both(const Pool::Impl& p, std::string_view a, std::string_view b)
{
    std::vector<VolumeLock> locks;
    if (a == b) {
        locks.push_back(p.lock(a));
    } else {
        locks.push_back(p.lock(std::min(a, b)));
        locks.push_back(p.lock(std::max(a, b)));
    }
    return locks;
}

} // namespace

RestoreResult Pool::restore(std::string_view source, std::optional<std::string_view> target,
                            const RestoreOptions& opts)
{
    Impl& p = *impl_;
    bool by_volume = source.find('@') == std::string_view::npos;
    std::string source_volume = by_volume ? (check_volume_name(source), std::string(source))
                                          : check_snapshot_name(source).volume;
    if (target)
        check_volume_name(*target);
    const std::string t(target ? *target : std::string_view(source_volume));
    const std::string shown = (p.paths.volumes / t).native();
    auto locks = lock_both(p, source_volume, t);

    RestoreResult result;
    result.target = t;
    if (by_volume) {
        // The newest snapshot that is not the safety snapshot of an earlier restore: restoring
        // twice gives the same content (the Python project swapped back to the backup).
        auto snaps = read_snapshots(p, scan_snapshots(p, source_volume));
        auto it = std::find_if(snaps.rbegin(), snaps.rend(), [](const Snapshot& s) { return !s.safety; });
        if (it == snaps.rend())
            throw NotFound(fmt::format("restore volume '{}': it has no snapshot to restore{}", source,
                                       snaps.empty() ? "" : " (only safety snapshots of earlier restores)"));
        result.source = *it;
    } else {
        auto s = find_snapshot(source);
        if (!s)
            throw NotFound(fmt::format("restore '{}': no such snapshot", source));
        result.source = *s;
    }
    const std::string what = fmt::format("restore '{}' into volume '{}'", result.source.name, t);
    UniqueFd src = open_source(p, result.source.name, what);

    if (!opts.force) {
        // Replacing a volume under a running container leaves it writing into deleted data.
        if (std::size_t n = mount_count(t))
            throw Busy(fmt::format("{}: the volume is mounted by {} container mount{}; stop them, or force the restore",
                                   what, n, n == 1 ? "" : "s"));
        if (auto where = mount_of(p.paths.volumes / t))
            throw Busy(fmt::format("{}: the volume is {}; unmount it, or force the restore", what, *where));
    }

    UniqueFd old;
    if (::faccessat(p.volumes.get(), t.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        old = try_open_dir_at(p.volumes.get(), t.c_str(), shown);
        if (!old || !btrfs::is_subvolume_root(old.get()))
            throw AlreadyExists(fmt::format("{}: '{}' exists and is not a btrfs subvolume", what, shown));
        // A snapshot does not include nested subvolumes (a container's own btrfs subvolumes):
        // the safety snapshot would not keep them, and replacing the volume would delete them.
        auto nested = btrfs::child_subvolume_names(old.get(), shown, true);
        if (nested && !nested->empty() && !opts.force)
            throw Busy(fmt::format("{}: the volume contains {} nested subvolume{} (first: '{}') that a snapshot does "
                                   "not keep; restoring would delete them; move them out, or force the restore",
                                   what, nested->size(), nested->size() == 1 ? "" : "s", nested->front()));
    }

    UniqueFd state = open_snapshot_state(p.state.get(), true);
    SnapshotRecord rec = read_snapshot_record(state.get(), t);
    std::optional<std::size_t> before;
    if (old) {
        before = begin_count_change(state.get(), t, rec);
        // The name is recorded before the snapshot exists: a crash can leave a record with no
        // snapshot (harmless), never a safety snapshot that passes for an ordinary one.
        result.safety_snapshot = take_snapshot(p, old.get(), t, [&](const std::string& name) {
            rec.safety.insert(name);
            write_snapshot_record(state.get(), t, rec);
            test_kill_point("restore:safety-recorded");
        });
        test_kill_point("restore:safety-taken");
    }

    // The new content is built under a temporary name that the next Pool open removes if we die.
    std::string tmp = fmt::format("{}{}.{}", tmp_prefix, t, random_suffix());
    btrfs::create_snapshot(src.get(), p.volumes.get(), tmp.c_str(), false, shown);
    auto drop_tmp = [&] {
        try {
            btrfs::delete_subvolume(p.volumes.get(), tmp.c_str(), true, shown);
        } catch (...) {
            // Left for remove_leftovers at the next open.
        }
    };
    try {
        if (old && p.quota->enabled()) {
            // A snapshot is a new subvolume with its own qgroup: carry the size limit over.
            auto info = btrfs::subvolume_info(old.get(), shown);
            if (auto limit = p.quota->limit(info.id)) {
                UniqueFd fd = open_dir_at(p.volumes.get(), tmp.c_str(), shown);
                p.quota->set_limit(fd.get(), *limit, shown);
            }
        }
        test_kill_point("restore:copy-made");
        unsigned flags = old ? RENAME_EXCHANGE : RENAME_NOREPLACE;
        if (::renameat2(p.volumes.get(), tmp.c_str(), p.volumes.get(), t.c_str(), flags) < 0)
            throw_errno(fmt::format("{}: {}", what, old ? "exchange with the current volume" : "rename into place"));
    } catch (...) {
        drop_tmp();
        if (before) {
            rec.count = *before + 1;
            write_snapshot_record(state.get(), t, rec);
        }
        throw;
    }
    test_kill_point("restore:exchanged");
    // tmp now holds the previous content, kept in the safety snapshot.
    if (old)
        drop_tmp();
    else
        p.write_mounts(t, {});
    if (before) {
        rec.count = *before + 1;
        write_snapshot_record(state.get(), t, rec);
    }
    return result;
}

} // namespace buttervolume
