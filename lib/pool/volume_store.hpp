// SPDX-License-Identifier: Apache-2.0
// VolumeStore: the volumes/ folder of a pool: reading volumes, listing, building new ones.
#pragma once

#include "btrfs/new_subvolume.hpp"
#include "btrfs/quota.hpp"
#include "pool/ephemeral.hpp"
#include "pool/folder_cache.hpp"
#include "pool/layout.hpp"

#include <buttervolume/volume.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

/// Prefixes of temporary entries in volumes/: never valid volume names (they start with a dot).
inline constexpr std::string_view tmp_prefix = ".tmp.";
inline constexpr std::string_view trash_prefix = ".trash.";

/// Reads the volumes of a pool and builds new ones. Callers hold the volume's lock to change one.
class VolumeStore {
public:
    VolumeStore(const PoolLayout& layout, const btrfs::Quota& quota, const EphemeralRecords& ephemeral)
        : layout_(layout), quota_(quota), ephemeral_(ephemeral)
    {
    }

    /// Reads the volume whose root is fd. quota: the quota state (asked once per listing rather
    /// than once per volume). The usage of a volume created before simple quotas were enabled is
    /// left unset ("unknown"): what it held then is accounted to nobody.
    Volume read(int fd, std::string_view name, const btrfs::QuotaState& quota) const;
    Volume read(int fd, std::string_view name) const { return read(fd, name, quota_.state(fd)); }
    /// Opens and reads volume name (which must exist).
    Volume read(std::string_view name) const;

    /// True when volume name is a subvolume in volumes/ (one stat).
    bool exists(std::string_view name) const;
    /// The volume called name, or nullopt.
    std::optional<Volume> find(std::string_view name) const;
    /// Every volume name, sorted.
    std::vector<std::string> names() const;
    /// The number of volumes: names().size(), kept while volumes/ does not change.
    std::size_t count() const;
    /// True when count() answers without reading volumes/ (it did not change since).
    bool count_current() const;
    /// Every volume, sorted by name.
    std::vector<Volume> list() const;

    /// Starts volume name as ".tmp.<name>.<random>": empty, or a writable snapshot of source_fd
    /// (when >= 0). The next Pool open removes it if the process dies before it is committed.
    btrfs::NewSubvolume build(std::string_view name, int source_fd = -1) const;

    /// Makes volume name a writable snapshot of source_fd, atomically: built under a temporary
    /// name, given the size limit of the current volume old_fd, then exchanged with it
    /// (renameat2 RENAME_EXCHANGE; renamed into place when old_fd is -1), so that name always
    /// holds the old or the new content, also after a crash. The previous content is deleted
    /// (nested subvolumes too). In test builds, kill points "<step>:copy-made" and
    /// "<step>:exchanged". The caller holds the volume's lock. Throws Error ("<what>: ...").
    void replace(std::string_view name, int old_fd, int source_fd, const std::string& what,
                 std::string_view step) const;

    /// Removes leftovers of interrupted creates and removes (".tmp.*", ".trash.*" in volumes/)
    /// whose owner no longer holds the volume's lock.
    void remove_leftovers() const;

private:
    // Calls fn(name) for each volume (a subvolume of volumes/ with a volume's name), unsorted.
    void for_each_name(const std::function<void(std::string_view)>& fn) const;

    const PoolLayout& layout_;
    const btrfs::Quota& quota_;
    const EphemeralRecords& ephemeral_;
    FolderCache<std::size_t> count_;
};

} // namespace buttervolume
