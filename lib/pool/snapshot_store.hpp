// SPDX-License-Identifier: Apache-2.0
// SnapshotStore: the snapshots/ folder of a pool: scanning, reading, taking, and source lookup.
#pragma once

#include "base/unique_fd.hpp"
#include "btrfs/quota.hpp"
#include "pool/folder_cache.hpp"
#include "pool/layout.hpp"
#include "pool/snapshot_records.hpp"

#include <buttervolume/snapshot.hpp>

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace buttervolume {

/// Reads and makes the snapshots of a pool. Callers hold the volume's lock to change them.
class SnapshotStore {
public:
    SnapshotStore(const PoolLayout& layout, const btrfs::Quota& quota, const SnapshotRecords& records)
        : layout_(layout), quota_(quota), records_(records)
    {
    }

    /// Entries of snapshots/ that are snapshots of this layout (of volume, when given), by name.
    std::vector<SnapshotName> scan(std::optional<std::string_view> volume) const;

    /// The number of snapshots of volume, from one pass over snapshots/ that counts every
    /// volume's at once and is kept while the folder does not change (its ctime): the first
    /// Get of each of 10,000 volumes without a count record costs a lookup, not a scan each.
    /// Reads only; thread-safe.
    std::size_t count(std::string_view volume) const;
    /// The number of snapshots of every volume together, from a pass that only counts (kept
    /// likewise).
    std::size_t total() const;
    /// True when total() answers without reading snapshots/ (it did not change since).
    bool total_current() const;
    /// The time of the newest snapshot of each volume that has one, from the same pass.
    std::unordered_map<std::string, std::chrono::system_clock::time_point> newest() const;

    /// Reads one snapshot; nullopt when it vanished meanwhile. record: its volume's record.
    std::optional<Snapshot> read(const SnapshotName& sn, bool quota_on, const SnapshotRecord& record) const;

    /// Reads and sorts (oldest first; the name breaks ties) the snapshots named in names.
    std::vector<Snapshot> read_all(const std::vector<SnapshotName>& names) const;

    /// Creates a read-only snapshot of source_fd named "<volume>@<now in UTC>", moving to the
    /// next free microsecond when the name is taken; before_create runs with the final name just
    /// before the snapshot is made. Called with the volume's lock held. Returns the name.
    std::string take(int source_fd, std::string_view volume,
                     const std::function<void(const std::string&)>& before_create = {}) const;

    /// Deletes snapshot name (a checked "<volume>@<ts>"). Throws NotFound, Error.
    void remove(const std::string& name) const;

    /// Opens the subvolume a source names: "<volume>@<ts>" in snapshots/, else a volume in
    /// volumes/ (the `from=` option, clone and restore all look up sources here). Throws
    /// InvalidArgument for a bad name, NotFound ("<what>: no such snapshot|volume 'x'").
    UniqueFd open_source(std::string_view source, std::string_view what) const;

private:
    const PoolLayout& layout_;
    const btrfs::Quota& quota_;
    const SnapshotRecords& records_;

    struct VolumeSnapshots {
        std::size_t count = 0;
        std::chrono::system_clock::time_point newest = std::chrono::system_clock::time_point::min();
    };
    // Looked up by string_view (a transparent hash): a lookup builds no string.
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using Summary = std::unordered_map<std::string, VolumeSnapshots, NameHash, std::equal_to<>>;
    // Calls fn(entry) for each subvolume in snapshots/ whose name starts with prefix (all of
    // them: one tree search when allowed).
    void for_each_entry(std::string_view prefix, const std::function<void(std::string_view)>& fn) const;
    // Calls fn(volume, utc) for each snapshot in snapshots/, names read in place when it can.
    void for_each(const std::function<void(std::string_view, std::chrono::system_clock::time_point)>& fn) const;
    Summary summarize() const;
    FolderCache<Summary> summary_;
    FolderCache<std::size_t> total_;
};

} // namespace buttervolume
