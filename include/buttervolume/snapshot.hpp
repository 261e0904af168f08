// SPDX-License-Identifier: Apache-2.0
// Snapshot: a read-only snapshot "<volume>@<timestamp>" in snapshots/, and the rules of its name.
#pragma once

#include <buttervolume/export.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace buttervolume {

/// How the timestamp in a snapshot name is read. buttervolume writes UTC; the Python project
/// wrote the naive local time of its process (the same text format).
enum class TimestampZone { Utc, Local };

/// One snapshot of a volume, as read back from disk.
struct BV_EXPORT Snapshot {
    /// "<volume>@<timestamp>", the entry name in snapshots/.
    std::string name;
    std::string volume;
    /// The text after '@': "%Y-%m-%dT%H:%M:%S.%f" (six fraction digits).
    std::string timestamp;
    /// The instant the name stands for (the timestamp read in `zone`).
    std::chrono::system_clock::time_point time;
    /// How the timestamp was read (Local only for Python-written names, whose subvolume was created within minutes of
    /// the name's local reading).
    TimestampZone zone = TimestampZone::Utc;
    std::filesystem::path path;
    bool read_only = true;
    /// Canonical UUID text; parent_uuid is the volume it was taken of; received_uuid is set on
    /// snapshots received from another host. Empty when unset.
    std::string uuid;
    std::string parent_uuid;
    std::string received_uuid;
    /// The subvolume's creation time (otime).
    std::chrono::system_clock::time_point created;
    /// Bytes referenced, when quotas are enabled on the filesystem.
    std::optional<std::uint64_t> size_used;
    /// True for the safety snapshot a restore took of its target before replacing it.
    bool safety = false;
};

/// Flags for Pool::restore.
struct BV_EXPORT RestoreOptions {
    /// Restore even when the target is mounted (a container using it keeps the replaced data).
    bool force = false;
};

/// What Pool::restore did.
struct BV_EXPORT RestoreResult {
    /// The snapshot restored (for a volume name: its newest snapshot that is not a safety snapshot).
    Snapshot source;
    /// The volume that now holds the snapshot's content.
    std::string target;
    /// The read-only safety snapshot of the target's previous content; none when the target
    /// did not exist before.
    std::optional<std::string> safety_snapshot;
};

/// Flags for Pool::purge.
struct BV_EXPORT PurgeOptions {
    /// Decide and report, delete nothing.
    bool dry_run = false;
    /// The time ages are measured from (the current time when unset).
    std::optional<std::chrono::system_clock::time_point> now;
    /// Snapshots never deleted whatever the pattern says, by name, with the reason shown
    /// (e.g. the parent the next incremental send to a host needs).
    std::map<std::string, std::string> protect;
};

/// One line of a purge: a snapshot, the decision, why, and whether it is gone.
struct BV_EXPORT PurgeDecision {
    Snapshot snapshot;
    bool keep = true;
    std::string reason;
    /// True once deleted (never in a dry run).
    bool deleted = false;
};

/// A snapshot name split into its parts (nothing checked on disk).
struct BV_EXPORT SnapshotName {
    std::string volume;
    std::string timestamp;
    /// The timestamp's calendar fields read as UTC (with microseconds).
    std::chrono::system_clock::time_point utc;

    /// "<volume>@<timestamp>".
    std::string str() const { return volume + "@" + timestamp; }
};

/// Parses "<volume>@<timestamp>": a valid volume name, one '@', and exactly
/// "YYYY-MM-DDTHH:MM:SS.ffffff" with a real calendar date. nullopt for anything else
/// (replication traces "<v>@<ts>@<host>", "x@/../..", "@", "v@", paths, other formats).
BV_EXPORT std::optional<SnapshotName> parse_snapshot_name(std::string_view name);

/// Same, but throws InvalidArgument saying why name is not a snapshot name.
BV_EXPORT SnapshotName check_snapshot_name(std::string_view name);

/// The timestamp text of t in UTC: "%Y-%m-%dT%H:%M:%S.%f".
BV_EXPORT std::string format_snapshot_timestamp(std::chrono::system_clock::time_point t);

} // namespace buttervolume
