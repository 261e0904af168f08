// SPDX-License-Identifier: Apache-2.0
// Building blocks of the snapshot operations: scanning snapshots/, reading snapshots, taking one
// under a free name, opening a source, and the count record.
#include "snapshot_ops.hpp"

#include "btrfs/subvolume.hpp"
#include "sys.hpp"
#include "test_hook.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

namespace buttervolume {

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
                          const std::function<void(const std::string&)>& before_create)
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

} // namespace buttervolume
