// SPDX-License-Identifier: Apache-2.0
// MountTable: the persisted mount counts per (volume, mount ID) under state/mounts/, per boot.
#pragma once

#include "base/dir.hpp"
#include "pool/folder_cache.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace buttervolume {

/// The only reader and writer of state/mounts/<volume>. Callers hold the volume's lock to change it.
class MountTable {
public:
    /// Opens state/mounts below state (creating it) and reads this boot's id.
    explicit MountTable(const Dir& state);

    /// Mount counts of volume by mount id (empty when none, or recorded in another boot).
    std::map<std::string, std::size_t> read(std::string_view volume) const;
    /// Persists the counts of volume atomically (removes the file when empty).
    void write(std::string_view volume, const std::map<std::string, std::size_t>& counts) const;
    /// Forgets every mount of volume (a new volume of an old name starts unmounted).
    void forget(std::string_view volume) const { write(volume, {}); }
    /// The number of mounts recorded for volume.
    std::size_t total(std::string_view volume) const;
    /// The number of mounts recorded for every volume together: one pass over state/mounts/,
    /// kept while the folder does not change. An unreadable file counts as none here (the
    /// operations on its volume report it).
    std::size_t total_all() const;

private:
    Dir dir_;
    /// This boot's /proc/sys/kernel/random/boot_id: mount counts from another boot are void.
    std::string boot_id_;
    FolderCache<std::size_t> total_all_;
};

} // namespace buttervolume
