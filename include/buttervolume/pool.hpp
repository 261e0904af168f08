// SPDX-License-Identifier: Apache-2.0
// Pool: the storage root (volumes/, snapshots/, config/, state/) and every volume operation.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/options.hpp>
#include <buttervolume/volume.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

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

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace buttervolume
