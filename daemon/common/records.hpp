// SPDX-License-Identifier: Apache-2.0
// The JSON records of library values that `--json` prints: volumes and snapshots.
#pragma once

#include "common/json.hpp"

#include <buttervolume/snapshot.hpp>
#include <buttervolume/volume.hpp>

namespace buttervolume::common {

/// Writes v as a JSON object: Name, Mountpoint, CreatedAt, UUID, CopyOnWrite, Compression,
/// SizeLimit, SizeUsed (the last three null when unset).
void write_volume_json(JsonWriter& w, const Volume& v);

/// Writes s as a JSON object: Name, Volume, Timestamp, Time (UTC), TimestampZone, Path,
/// ReadOnly, UUID, ParentUUID, ReceivedUUID (null when unset), CreatedAt, Size, Safety.
void write_snapshot_json(JsonWriter& w, const Snapshot& s);

} // namespace buttervolume::common
