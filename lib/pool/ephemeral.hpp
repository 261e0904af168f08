// SPDX-License-Identifier: Apache-2.0
// Ephemeral volumes: their records under state/ephemeral/, and the fresh clone swapped in.
#pragma once

#include "base/dir.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

class PoolLayout;
class SnapshotStore;
class VolumeStore;

/// The one reader and writer of state/ephemeral/<volume>: the source an ephemeral volume is
/// cloned from (ephemeral=true, from=SOURCE). Kept outside the subvolume, where no container
/// can change it; a restarted plugin reads it back. Callers hold the volume's lock to change it.
class EphemeralRecords {
public:
    /// Opens state/ephemeral below state, creating it.
    explicit EphemeralRecords(const Dir& state);

    /// The source of volume when it is ephemeral, else nullopt. One small file read.
    std::optional<std::string> source(std::string_view volume) const;
    /// Records volume as an ephemeral clone of source, durably (before the volume appears).
    void write(std::string_view volume, std::string_view source) const;
    /// Volume is no longer ephemeral (removed, or made again without the option).
    void forget(std::string_view volume) const;
    /// Every volume with a record.
    std::vector<std::string> names() const;

private:
    Dir dir_;
};

/// Replaces the content of the ephemeral volume name by a fresh writable snapshot of source
/// (a volume's current state, or a snapshot), atomically (see VolumeStore::replace); the
/// previous content, with whatever containers wrote, is deleted. what starts the messages
/// ("mount volume 'qa'"). The caller holds the volume's lock. Throws NotFound, leaving the
/// volume as it was, when the source no longer exists.
void refresh_ephemeral(const PoolLayout& layout, const VolumeStore& volumes, const SnapshotStore& snapshots,
                       std::string_view name, const std::string& source, std::string_view what);

/// Removes the records of volumes that no longer exist (a create killed before its rename, a
/// volume deleted behind the library's back) whose lock is free.
void remove_orphan_ephemeral_records(const PoolLayout& layout, const VolumeStore& volumes,
                                     const EphemeralRecords& records);

} // namespace buttervolume
