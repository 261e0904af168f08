// SPDX-License-Identifier: Apache-2.0
// SnapshotRecords: the one owner of state/snapshots/<volume> (snapshot count, safety snapshots).
#pragma once

#include "base/dir.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace buttervolume {

/// What state/snapshots/<volume> says.
struct SnapshotRecord {
    /// The number of snapshots of the volume; unset when unknown (never counted, or an
    /// operation on it was interrupted): then the next counter scans.
    std::optional<std::size_t> count;
    /// Safety snapshots taken by restores of this volume. A name is recorded before the
    /// snapshot is made, so a crash can leave a name with no snapshot (harmless), never a safety
    /// snapshot that looks like an ordinary one.
    std::set<std::string> safety;
};

/// The per-volume snapshot records of a pool: the snapshot count (so the plugin's Get need not
/// scan snapshots/) and the names of restore safety snapshots. Nothing else writes them; every
/// change goes through a Change, made while the volume's lock is held.
class SnapshotRecords {
public:
    /// Opens state/snapshots below state, creating it.
    explicit SnapshotRecords(const Dir& state);

    /// The record of volume; empty when there is none. Needs no lock (files are replaced whole).
    SnapshotRecord read(std::string_view volume) const;

    /// Stores n, the count a scan just found, when the record says otherwise. The caller holds
    /// the volume's lock. durable=false for filling the cache on a read path (losing that write
    /// costs one more scan). Best effort: a failed write (full or read-only disk) is ignored,
    /// the count then stays unknown. Never throws.
    void store_count(std::string_view volume, std::size_t n, bool durable = true) const noexcept;

    /// One change to the snapshots of a volume, under its lock. Opening it marks the count
    /// unknown, so a crash in the middle costs a rescan, never a wrong count; finish() writes the
    /// result. Abandoned without finish(), the count stays unknown. Neither step fsyncs unless
    /// the record holds safety names (snapshot_records.cpp says why that is safe).
    class Change {
    public:
        Change(const SnapshotRecords& records, std::string_view volume);

        /// One snapshot more.
        void added() { ++added_; }
        /// Snapshot name is gone (and no longer a safety snapshot).
        void removed(const std::string& name);
        /// Records name as a safety snapshot now, durably, before the snapshot is made.
        void mark_safety(const std::string& name);
        /// After a scan: the volume has n snapshots, and present tells which names still exist
        /// (safety names of snapshots deleted by hand are dropped).
        void recounted(std::size_t n, const std::function<bool(const std::string&)>& present);
        /// The record as it stands (safety names included).
        const SnapshotRecord& record() const { return rec_; }
        /// Writes the new count: known when it was known before, or recounted, or else what
        /// count_now() says (a count of snapshots/ taken after the change, under the lock), so
        /// a volume's first change makes its count known and later reads need no scan. Best
        /// effort: it runs after the snapshots changed, so a failed count or write (a full disk)
        /// leaves the count unknown, as the constructor marked it, and the next reader counts.
        /// Never throws.
        void finish(const std::function<std::size_t()>& count_now = {}) noexcept;

    private:
        const SnapshotRecords& records_;
        std::string volume_;
        SnapshotRecord rec_;
        std::optional<std::size_t> before_;
        std::size_t added_ = 0;
        std::size_t removed_ = 0;
        std::optional<std::size_t> recounted_;
    };

private:
    void write(std::string_view volume, const SnapshotRecord& record, bool durable = true) const;
    /// Removes the record of volume (count unknown, no safety names); false when that failed.
    bool remove(std::string_view volume) const noexcept;

    Dir dir_;
};

} // namespace buttervolume
