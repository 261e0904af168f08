// SPDX-License-Identifier: Apache-2.0
// Pool: the storage root (volumes/, snapshots/, config/, state/) and every volume operation.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/options.hpp>
#include <buttervolume/receive.hpp>
#include <buttervolume/retention.hpp>
#include <buttervolume/send.hpp>
#include <buttervolume/snapshot.hpp>
#include <buttervolume/stream.hpp>
#include <buttervolume/volume.hpp>

#include <cstdint>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace buttervolume {

struct Remote;
struct ReplicateOptions;
struct ReplicateResult;
struct PullResult;

/// Where a pool keeps things. Usually all under one root; the Python project's
/// BUTTERVOLUME_VOLUMES_PATH / BUTTERVOLUME_SNAPSHOTS_PATH may move volumes and snapshots.
struct BV_EXPORT PoolPaths {
    std::filesystem::path root;
    std::filesystem::path volumes;
    std::filesystem::path snapshots;
    std::filesystem::path config;
    std::filesystem::path state;

    /// The standard layout under root.
    static PoolPaths under(const std::filesystem::path& root);
};

/// The default pool root, /var/lib/buttervolume.
BV_EXPORT const std::filesystem::path& default_root();

/// Flags for remove_volume.
struct BV_EXPORT RemoveOptions {
    /// Remove even when the volume is mounted.
    bool force = false;
};

/// Options for Pool::send: snapshots are named as in the pool's snapshots/ folder.
struct BV_EXPORT PoolSendOptions {
    /// Incremental against this snapshot of the pool (which the receiver must already have).
    std::optional<std::string> parent;
    /// Other snapshots of the pool the receiver has, whose extents may be cloned instead of sent.
    std::vector<std::string> clone_sources;
    /// Protocol version: 0 for the highest the kernel supports, or 1, 2, ...
    std::uint32_t protocol = 0;
    /// Pass compressed extents through as they are on disk (needs protocol 2 or later).
    bool compressed = false;
    /// Progress of the bytes written to the output (called from the draining thread).
    ProgressCallback progress;
};

/// What a pool holds and how full its filesystem is, as a monitoring scrape or a status page shows it.
struct BV_EXPORT PoolStatistics {
    std::size_t volumes = 0;
    /// Mounts recorded this boot, of every volume (a volume mounted twice counts twice).
    std::size_t mounts = 0;
    /// Snapshots "<volume>@<timestamp>" in snapshots/ (replication traces not counted).
    std::size_t snapshots = 0;
    /// The filesystem's size and the bytes an unprivileged writer may still use (statvfs).
    std::uint64_t fs_size_bytes = 0;
    std::uint64_t fs_free_bytes = 0;
    /// Quotas (full or simple) are enabled: size limits are enforced.
    bool quotas = false;
};

/// A pool of volumes on one btrfs filesystem. Safe to use from several threads and processes:
/// every change to a volume holds that volume's lock (flock on state/locks/<name>).
class BV_EXPORT Pool {
public:
    /// Opens the pool at paths, creating missing folders of the layout, and removes leftovers
    /// of interrupted operations (temporary volumes whose creator is gone).
    /// Throws NotFound when the root does not exist, NotBtrfs when it is not on btrfs.
    explicit Pool(const PoolPaths& paths);
    /// Same as Pool(PoolPaths::under(root)).
    explicit Pool(const std::filesystem::path& root);
    Pool(Pool&&) noexcept;
    Pool& operator=(Pool&&) noexcept;
    ~Pool();

    const PoolPaths& paths() const;

    /// Creates volume name with opts, atomically: it appears whole or not at all.
    /// Creating an existing volume with equal options returns it; with other options throws
    /// AlreadyExists naming the difference. Throws InvalidArgument for a bad name or option,
    /// NotFound when `from` names no volume.
    Volume create_volume(std::string_view name, const VolumeOptions& opts = {});

    /// Removes volume name and every subvolume nested in it; its snapshots are kept.
    /// Throws NotFound, InvalidArgument, or Busy when mounted and not forced.
    void remove_volume(std::string_view name, const RemoveOptions& opts = {});

    /// The volume called name, or nullopt. Throws InvalidArgument for a bad name.
    std::optional<Volume> find_volume(std::string_view name) const;

    /// Every volume with its options, sorted by name.
    std::vector<Volume> volumes() const;

    /// The names of every volume, sorted: one directory scan, no per-volume ioctl.
    std::vector<std::string> volume_names() const;

    /// True when volume name exists (one stat). Throws InvalidArgument for a bad name.
    bool has_volume(std::string_view name) const;

    /// The directory of volume name (whether or not it exists). Throws InvalidArgument.
    std::filesystem::path volume_path(std::string_view name) const;

    /// Records one mount of volume name by mount id (Docker's 64-hex ID; the same id may be
    /// mounted more than once) and returns the volume's path. Counts are persisted under
    /// state/mounts/ and forgotten after a reboot. Throws NotFound, InvalidArgument.
    std::filesystem::path mount_volume(std::string_view name, std::string_view id);

    /// Forgets one mount of name by id. Returns false, changing nothing, when that id holds no
    /// mount of name (Docker sends Unmounts the plugin never counted, e.g. after a crash).
    /// Throws InvalidArgument for a bad name or id.
    bool unmount_volume(std::string_view name, std::string_view id);

    /// How many mounts of name are recorded (0 after a reboot). One small file read.
    std::size_t mount_count(std::string_view name) const;

    // Snapshots (lib/pool/snapshots.cpp). Every change holds the volume's lock.

    /// Takes a read-only snapshot snapshots/<volume>@<UTC timestamp> in constant time. A name
    /// already taken (two snapshots in one microsecond) gets the next free microsecond.
    /// Throws InvalidArgument for a bad name, NotFound when the volume does not exist.
    Snapshot snapshot(std::string_view volume);

    /// Snapshots of volume (every volume's when nullopt), oldest first. Entries of snapshots/
    /// that are not "<volume>@<timestamp>" subvolumes (replication traces included) are
    /// ignored. Throws InvalidArgument for a bad volume name.
    std::vector<Snapshot> snapshots(std::optional<std::string_view> volume = std::nullopt) const;

    /// The snapshot called name, or nullopt. Throws InvalidArgument for a bad snapshot name.
    std::optional<Snapshot> find_snapshot(std::string_view name) const;

    /// Deletes snapshot name ("<volume>@<timestamp>", checked before any syscall).
    /// Throws InvalidArgument, NotFound.
    void remove_snapshot(std::string_view name);

    /// Replaces target (default: the snapshot's volume) by a writable snapshot of source, a
    /// snapshot name or a volume name (then its newest snapshot that is not a safety snapshot):
    /// first a read-only safety snapshot of target, then an atomic RENAME_EXCHANGE, then the old
    /// content is deleted; target never disappears, and a crash leaves leftovers the next Pool
    /// open removes. Throws InvalidArgument, NotFound (no such snapshot, or no snapshot of the
    /// volume), Busy when target is mounted (plugin mount count, or /proc/self/mountinfo) and
    /// not forced.
    RestoreResult restore(std::string_view source, std::optional<std::string_view> target = std::nullopt,
                          const RestoreOptions& opts = {});

    /// Creates volume target as a writable snapshot of source (a volume or snapshot name).
    /// Throws InvalidArgument, NotFound for a missing source, AlreadyExists when target exists.
    Volume clone(std::string_view source, std::string_view target);

    /// Applies pattern to the snapshots of volume (see decide_retention; the newest and the
    /// protected ones are never deleted) and deletes the condemned ones unless dry_run. Returns a decision per snapshot,
    /// oldest first. Throws InvalidArgument; Error when a deletion fails (earlier ones are done).
    std::vector<PurgeDecision> purge(std::string_view volume, const RetentionPattern& pattern,
                                     const PurgeOptions& opts = {});

    /// How many snapshots volume has: one small state file read (state/snapshots/<volume>),
    /// kept up to date by this library's own snapshot, remove, restore and purge. Snapshots
    /// made or deleted behind its back (btrfs CLI, Python buttervolume) are counted again at the
    /// next listing, purge or restore of that volume; with no record yet, one scan of snapshots/.
    /// Throws InvalidArgument for a bad name.
    std::size_t snapshot_count(std::string_view volume) const;

    /// The newest snapshot of volume when the volume has not changed since it was taken (its
    /// btrfs generation, after committing pending writes, is that snapshot's creation
    /// transaction); nullopt when it changed or has no snapshot taken of it here (received and
    /// pre-restore snapshots do not count). A scheduler skips an unchanged volume with it.
    /// Throws InvalidArgument for a bad name, NotFound when the volume does not exist.
    std::optional<Snapshot> unchanged_since_snapshot(std::string_view volume) const;

    // Statistics (lib/pool/statistics.cpp): no lock taken, nothing written, no process spawned.

    /// The pool's counts and free space. Each count comes from one pass over its folder
    /// (volumes/, snapshots/, state/mounts/), kept while the folder does not change, so a call
    /// costs a few syscalls when nothing was created or removed since the last. Throws Error.
    PoolStatistics statistics() const;

    /// The time of the newest snapshot of each volume that has one, from the same pass over
    /// snapshots/ as statistics(). Throws Error.
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> newest_snapshots() const;

    // Streams (lib/pool/transfer.cpp).

    /// Writes the send stream of snapshot (an entry of snapshots/: "<volume>@<ts>", or the name
    /// a received snapshot came with) to out_fd: a pipe (ssh), socket or file, not closed.
    /// Takes no lock: the kernel refuses to delete a snapshot while it is being sent.
    /// Throws InvalidArgument for a name that is not one entry of snapshots/, and what
    /// send_snapshot throws.
    StreamProgress send(std::string_view snapshot, int out_fd, const PoolSendOptions& opts = {}) const;

    /// Receives the send stream read from in_fd (any fd: a pipe from ssh, a file) into
    /// snapshots/, as receive_stream does (atomic, confined, checked). Each "<volume>@<ts>" is
    /// renamed into place while that volume's lock is held, and counted in its snapshot count,
    /// so a purge or restore of the volume at the same time keeps the count right. Returns the
    /// snapshots received. Throws what receive_stream throws.
    std::vector<ReceivedSnapshot> receive(int in_fd, const ReceiveOptions& opts = {});
    /// Same, from a reader.
    std::vector<ReceivedSnapshot> receive(stream::StreamReader& reader, const ReceiveOptions& opts = {});

    // Replication (include <buttervolume/replication.hpp>; lib/replicate/).

    /// Sends snapshot to remote, incrementally from the newest snapshot both hold; see
    /// buttervolume::replicate.
    ReplicateResult replicate(std::string_view snapshot, const Remote& remote, const ReplicateOptions& opts);

    /// Fetches the newest snapshot of volume that remote holds; see buttervolume::pull.
    PullResult pull(std::string_view volume, const Remote& remote);

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace buttervolume
