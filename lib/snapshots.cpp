// SPDX-License-Identifier: Apache-2.0
// Pool's snapshot operations: snapshot, list, remove, restore (safety snapshot + RENAME_EXCHANGE),
// clone, purge, and the cheap per-volume snapshot count.
#include "btrfs/subvolume.hpp"
#include "mountinfo.hpp"
#include "pool_impl.hpp"
#include "snapshot_state.hpp"
#include "sys.hpp"
#include "test_hook.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>

namespace buttervolume {

namespace {

using Clock = std::chrono::system_clock;

// Entries of snapshots/ that are snapshots of this layout (of volume, when given), by name.
// Anything else there (replication traces, Python leftovers, files) is not ours to touch.
std::vector<SnapshotName> scan_snapshots(const Pool::Impl& p, std::optional<std::string_view> volume)
{
    std::vector<SnapshotName> out;
    int fd = ::openat(p.snapshots.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw_errno(fmt::format("open '{}'", p.paths.snapshots.native()));
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        throw_errno(fmt::format("open '{}'", p.paths.snapshots.native()));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, ::closedir);
    std::string prefix = volume ? std::string(*volume) + "@" : std::string();
    while (struct dirent* e = ::readdir(dir)) {
        std::string_view entry = e->d_name;
        if (!entry.starts_with(prefix) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
            continue;
        auto sn = parse_snapshot_name(entry);
        if (sn && btrfs::is_subvolume_at(p.snapshots.get(), e->d_name))
            out.push_back(std::move(*sn));
    }
    return out;
}

// Reads one snapshot; nullopt when it vanished meanwhile.
std::optional<Snapshot> read_snapshot(const Pool::Impl& p, const SnapshotName& sn, bool quota_on,
                                      const SnapshotRecord& record)
{
    Snapshot s;
    s.name = sn.str();
    s.volume = sn.volume;
    s.timestamp = sn.timestamp;
    s.path = p.paths.snapshots / s.name;
    UniqueFd fd = try_open_dir_at(p.snapshots.get(), s.name.c_str(), s.path.native());
    if (!fd || !btrfs::is_subvolume_root(fd.get()))
        return std::nullopt;
    auto info = btrfs::subvolume_info(fd.get(), s.path.native());
    s.read_only = info.read_only;
    s.uuid = btrfs::uuid_to_string(info.uuid);
    s.parent_uuid = btrfs::uuid_to_string(info.parent_uuid);
    s.received_uuid = btrfs::uuid_to_string(info.received_uuid);
    s.created = info.otime;
    s.zone = read_snapshot_time(sn.utc, local_reading(sn.utc), info.otime);
    s.time = s.zone == TimestampZone::Utc ? sn.utc : local_reading(sn.utc);
    if (quota_on)
        s.size_used = p.quota->referenced(info.id);
    s.safety = record.safety.count(s.name) != 0;
    return s;
}

// Reads and sorts (oldest first; the name breaks ties) the snapshots named in names.
std::vector<Snapshot> read_snapshots(const Pool::Impl& p, const std::vector<SnapshotName>& names)
{
    std::vector<Snapshot> out;
    out.reserve(names.size());
    bool quota_on = p.quota->enabled();
    UniqueFd state = open_snapshot_state(p.state.get(), false);
    std::map<std::string, SnapshotRecord, std::less<>> records;
    for (const auto& sn : names) {
        auto it = records.find(sn.volume);
        if (it == records.end())
            it = records.emplace(sn.volume, read_snapshot_record(state.get(), sn.volume)).first;
        if (auto s = read_snapshot(p, sn, quota_on, it->second))
            out.push_back(std::move(*s));
    }
    std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
        return a.time != b.time ? a.time < b.time : a.name < b.name;
    });
    return out;
}

// Creates a read-only snapshot of source_fd named "<volume>@<now in UTC>"; a name already taken
// (two snapshots in one microsecond, or a clock that went back onto an existing name) moves
// to the next microsecond. Called with the volume's lock held.
std::string take_snapshot(const Pool::Impl& p, int source_fd, std::string_view volume,
                          const std::function<void(const std::string&)>& before_create = {})
{
    Clock::time_point t = test_now();
    for (int attempt = 0; attempt < 1000; ++attempt, t += std::chrono::microseconds(1)) {
        std::string name = fmt::format("{}@{}", volume, format_snapshot_timestamp(t));
        if (::faccessat(p.snapshots.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        if (before_create)
            before_create(name);
        btrfs::create_snapshot(source_fd, p.snapshots.get(), name.c_str(), true,
                               (p.paths.snapshots / name).native());
        return name;
    }
    throw AlreadyExists(fmt::format("snapshot of volume '{}': no free name near the current time", volume));
}

// Opens the subvolume a source names: "<volume>@<ts>" in snapshots/, else a volume.
UniqueFd open_source(const Pool::Impl& p, std::string_view source, std::string_view what)
{
    std::string s(source);
    bool is_snapshot = source.find('@') != std::string_view::npos;
    if (is_snapshot)
        check_snapshot_name(source);
    else
        check_volume_name(source);
    int dirfd = is_snapshot ? p.snapshots.get() : p.volumes.get();
    auto shown = ((is_snapshot ? p.paths.snapshots : p.paths.volumes) / s).native();
    UniqueFd fd = try_open_dir_at(dirfd, s.c_str(), shown);
    if (!fd || !btrfs::is_subvolume_root(fd.get()))
        throw NotFound(fmt::format("{}: no such {} '{}'", what, is_snapshot ? "snapshot" : "volume", source));
    return fd;
}

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

// Marks the count unknown before a change: a crash in the middle then costs a rescan, never a
// wrong count. Returns the count before the change.
std::optional<std::size_t> begin_count_change(int state_fd, std::string_view volume, SnapshotRecord& rec)
{
    auto before = rec.count;
    if (before) {
        rec.count.reset();
        write_snapshot_record(state_fd, volume, rec);
    }
    return before;
}

} // namespace

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
        write_snapshot_record(state.get(), volume, rec);
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
    std::vector<PurgeDecision> out;
    for (std::size_t i = 0; i < snaps.size(); ++i)
        out.push_back({snaps[i], verdicts[i].keep, verdicts[i].reason, false});

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
