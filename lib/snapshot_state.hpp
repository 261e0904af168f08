// SPDX-License-Identifier: Apache-2.0
// Per-volume snapshot records under state/snapshots/<volume>: the snapshot count (so the
// plugin's Get need not scan snapshots/) and the names of restore safety snapshots.
#pragma once

#include "unique_fd.hpp"

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace buttervolume {

/// What state/snapshots/<volume> says. Changed only under the volume's lock.
struct SnapshotRecord {
    /// The number of snapshots of the volume; unset when unknown (never counted, or an
    /// operation on it was interrupted): then the next counter scans.
    std::optional<std::size_t> count;
    /// Safety snapshots taken by restores of this volume. A name is recorded before the
    /// snapshot is made, so a crash can leave a name with no snapshot (harmless), never a safety
    /// snapshot that looks like an ordinary one.
    std::set<std::string> safety;
};

/// Opens state/snapshots below state_fd, creating it when create is true; an empty fd when it
/// does not exist and create is false.
UniqueFd open_snapshot_state(int state_fd, bool create);

/// The record of volume, empty when there is none (or dirfd is empty).
SnapshotRecord read_snapshot_record(int dirfd, std::string_view volume);

/// Writes the record of volume atomically (file format: "count N" and "safety NAME" lines).
/// durable=false is for filling the cache from a scan: losing that write costs one more scan.
void write_snapshot_record(int dirfd, std::string_view volume, const SnapshotRecord& record, bool durable = true);

} // namespace buttervolume
