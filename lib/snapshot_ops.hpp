// SPDX-License-Identifier: Apache-2.0
// Building blocks shared by Pool's snapshot operations (snapshots.cpp, restore.cpp).
#pragma once

#include "pool_impl.hpp"
#include "snapshot_state.hpp"
#include "unique_fd.hpp"

#include <buttervolume/snapshot.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

/// Entries of snapshots/ that are snapshots of this layout (of volume, when given), by name.
std::vector<SnapshotName> scan_snapshots(const Pool::Impl& p, std::optional<std::string_view> volume);

/// Reads one snapshot; nullopt when it vanished meanwhile. record: its volume's state record.
std::optional<Snapshot> read_snapshot(const Pool::Impl& p, const SnapshotName& sn, bool quota_on,
                                      const SnapshotRecord& record);

/// Reads and sorts (oldest first; the name breaks ties) the snapshots named in names.
std::vector<Snapshot> read_snapshots(const Pool::Impl& p, const std::vector<SnapshotName>& names);

/// Creates a read-only snapshot of source_fd named "<volume>@<now in UTC>", moving to the next
/// free microsecond when the name is taken; before_create runs with the final name just before
/// the snapshot is made. Called with the volume's lock held. Returns the name.
std::string take_snapshot(const Pool::Impl& p, int source_fd, std::string_view volume,
                          const std::function<void(const std::string&)>& before_create = {});

/// Opens the subvolume source names: "<volume>@<ts>" in snapshots/, else a volume in volumes/.
/// Throws InvalidArgument for a bad name, NotFound ("<what>: no such snapshot|volume 'x'").
UniqueFd open_source(const Pool::Impl& p, std::string_view source, std::string_view what);

/// Marks the count of volume unknown before a change (a crash in the middle then costs a
/// rescan, never a wrong count). Returns the count before the change.
std::optional<std::size_t> begin_count_change(int state_fd, std::string_view volume, SnapshotRecord& rec);

} // namespace buttervolume
