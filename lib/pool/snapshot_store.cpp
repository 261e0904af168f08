// SPDX-License-Identifier: Apache-2.0
// Scanning snapshots/, reading snapshots, taking one under a free name, and opening a source.
#include "pool/snapshot_store.hpp"

#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"
#include "model/snapshot_time.hpp"
#include "pool/test_seams.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace buttervolume {

using Clock = std::chrono::system_clock;

void SnapshotStore::for_each_entry(std::string_view prefix, const std::function<void(std::string_view)>& fn) const
{
    const Dir& dir = layout_.snapshots();
    // All of them: the folder's own directory items name the subvolumes in snapshots/ in a few
    // ioctls (as for volumes/), where a stat per entry cost ~2 us (20 ms for the first scrape or
    // Get after a change at 10,000 snapshots). Without CAP_SYS_ADMIN, or for one volume's, the
    // loop below.
    if (prefix.empty() && btrfs::for_each_child_subvolume(dir.fd(), dir.path().native(), fn))
        return;
    dir.for_each([&](std::string_view entry, unsigned char type) {
        if (!entry.starts_with(prefix) || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        if (btrfs::is_subvolume_at(dir.fd(), std::string(entry).c_str()))
            fn(entry);
    });
}

// Anything else in snapshots/ (replication traces, Python leftovers, files) is not ours to touch.
std::vector<SnapshotName> SnapshotStore::scan(std::optional<std::string_view> volume) const
{
    std::vector<SnapshotName> out;
    std::string prefix = volume ? std::string(*volume) + "@" : std::string();
    for_each_entry(prefix, [&](std::string_view entry) {
        if (auto sn = parse_snapshot_name(entry))
            out.push_back(std::move(*sn));
    });
    return out;
}

void SnapshotStore::for_each(const std::function<void(std::string_view, Clock::time_point)>& fn) const
{
    // The hot path of a scrape after a new snapshot: names are read in place from the tree
    // search buffer, without a string per snapshot.
    for_each_entry({}, [&](std::string_view entry) {
        std::string_view volume;
        Clock::time_point utc;
        if (split_snapshot_name(entry, volume, utc))
            fn(volume, utc);
    });
}

SnapshotStore::Summary SnapshotStore::summarize() const
{
    Summary out;
    for_each([&](std::string_view volume, Clock::time_point utc) {
        auto it = out.find(volume);
        if (it == out.end())
            it = out.emplace(std::string(volume), VolumeSnapshots{}).first;
        ++it->second.count;
        it->second.newest = std::max(it->second.newest, utc);
    });
    return out;
}

std::size_t SnapshotStore::count(std::string_view volume) const
{
    const Dir& dir = layout_.snapshots();
    return summary_.with(
        dir.fd(), dir.path().native(), [this] { return summarize(); },
        [&](const Summary& s) {
            auto it = s.find(volume);
            return it == s.end() ? std::size_t(0) : it->second.count;
        });
}

std::size_t SnapshotStore::total() const
{
    // Its own count, not the summary's: a scrape after each scheduled snapshot then builds no
    // map of 10,000 volumes.
    const Dir& dir = layout_.snapshots();
    auto count = [this] {
        std::size_t n = 0;
        for_each([&](std::string_view, Clock::time_point) { ++n; });
        return n;
    };
    return total_.with(dir.fd(), dir.path().native(), count, [](std::size_t n) { return n; });
}

bool SnapshotStore::total_current() const
{
    const Dir& dir = layout_.snapshots();
    return total_.current(dir.fd(), dir.path().native());
}

std::unordered_map<std::string, Clock::time_point> SnapshotStore::newest() const
{
    const Dir& dir = layout_.snapshots();
    return summary_.with(
        dir.fd(), dir.path().native(), [this] { return summarize(); },
        [](const Summary& s) {
            std::unordered_map<std::string, Clock::time_point> out;
            out.reserve(s.size());
            for (const auto& [volume, v] : s)
                out.emplace(volume, v.newest);
            return out;
        });
}

std::optional<Snapshot> SnapshotStore::read(const SnapshotName& sn, bool quota_on, const SnapshotRecord& record) const
{
    Snapshot s;
    s.name = sn.str();
    s.volume = sn.volume;
    s.timestamp = sn.timestamp;
    s.path = layout_.snapshots().path(s.name);
    UniqueFd fd = layout_.snapshots().try_open_dir(s.name);
    if (!fd || !btrfs::is_subvolume_root(fd.get()))
        return std::nullopt;
    btrfs::SubvolumeInfo info;
    try {
        info = btrfs::subvolume_info(fd.get(), s.path.native());
    } catch (const NotFound&) {
        // Deleted (rm, purge) between the open and the ioctl: the kernel answers ENOENT for a
        // subvolume whose root is gone. A snapshot that no longer exists is not listed.
        return std::nullopt;
    }
    s.read_only = info.read_only;
    s.uuid = btrfs::uuid_to_string(info.uuid);
    s.parent_uuid = btrfs::uuid_to_string(info.parent_uuid);
    s.received_uuid = btrfs::uuid_to_string(info.received_uuid);
    s.created = info.otime;
    s.zone = read_snapshot_time(sn.utc, local_reading(sn.utc), info.otime);
    s.time = s.zone == TimestampZone::Utc ? sn.utc : local_reading(sn.utc);
    if (quota_on)
        s.size_used = quota_.referenced(info.id);
    s.safety = record.safety.count(s.name) != 0;
    return s;
}

std::vector<Snapshot> SnapshotStore::read_all(const std::vector<SnapshotName>& names) const
{
    std::vector<Snapshot> out;
    out.reserve(names.size());
    bool quota_on = quota_.enabled();
    std::map<std::string, SnapshotRecord, std::less<>> records;
    for (const auto& sn : names) {
        auto it = records.find(sn.volume);
        if (it == records.end())
            it = records.emplace(sn.volume, records_.read(sn.volume)).first;
        if (auto s = read(sn, quota_on, it->second))
            out.push_back(std::move(*s));
    }
    std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
        return a.time != b.time ? a.time < b.time : a.name < b.name;
    });
    return out;
}

// A name already taken (two snapshots in one microsecond, or a clock that went back onto an
// existing name) moves to the next microsecond.
std::string SnapshotStore::take(int source_fd, std::string_view volume,
                                const std::function<void(const std::string&)>& before_create) const
{
    const Dir& dir = layout_.snapshots();
    Clock::time_point t = test_now();
    for (int attempt = 0; attempt < 1000; ++attempt, t += std::chrono::microseconds(1)) {
        std::string name = fmt::format("{}@{}", volume, format_snapshot_timestamp(t));
        if (dir.exists(name))
            continue;
        if (before_create)
            before_create(name);
        btrfs::create_snapshot(source_fd, dir.fd(), name.c_str(), true, dir.path(name).native());
        return name;
    }
    throw AlreadyExists(fmt::format("snapshot of volume '{}': no free name near the current time", volume));
}

void SnapshotStore::remove(const std::string& name) const
{
    const Dir& dir = layout_.snapshots();
    btrfs::delete_subvolume(dir.fd(), name.c_str(), false, dir.path(name).native());
}

UniqueFd SnapshotStore::open_source(std::string_view source, std::string_view what) const
{
    bool is_snapshot = source.find('@') != std::string_view::npos;
    // A strict "<volume>@<timestamp>" or volume name, never a path.
    if (is_snapshot)
        check_snapshot_name(source);
    else
        check_volume_name(source);
    const Dir& dir = is_snapshot ? layout_.snapshots() : layout_.volumes();
    UniqueFd fd = dir.try_open_dir(source);
    if (!fd || !btrfs::is_subvolume_root(fd.get()))
        throw NotFound(fmt::format("{}: no such {} '{}'", what, is_snapshot ? "snapshot" : "volume", source));
    return fd;
}

} // namespace buttervolume
