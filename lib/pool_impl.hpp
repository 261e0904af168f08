// SPDX-License-Identifier: Apache-2.0
// Pool::Impl: the open directories of a pool, shared by the files that implement Pool's operations.
#pragma once

#include "btrfs/quota.hpp"
#include "locks.hpp"
#include "unique_fd.hpp"

#include <buttervolume/pool.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace buttervolume {

struct Pool::Impl {
    PoolPaths paths;
    UniqueFd volumes;
    UniqueFd snapshots;
    UniqueFd config;
    UniqueFd state;
    UniqueFd locks;
    UniqueFd mounts;
    /// This boot's /proc/sys/kernel/random/boot_id: mount counts from another boot are void.
    std::string boot_id;
    std::optional<btrfs::Quota> quota;

    explicit Impl(const PoolPaths& p);

    VolumeLock lock(std::string_view name) const { return VolumeLock(locks.get(), name); }

    /// Reads the volume whose root is fd. quota_on: whether quotas are enabled (asked once per
    /// listing rather than once per volume).
    Volume read_volume(int fd, std::string_view name, bool quota_on) const;
    Volume read_volume(int fd, std::string_view name) const { return read_volume(fd, name, quota->enabled()); }

    /// Mount counts of name by mount id, from state/mounts/<name> (empty after a reboot).
    std::map<std::string, std::size_t> read_mounts(std::string_view name) const;

    /// Persists the mount counts of name atomically (removes the file when empty).
    void write_mounts(std::string_view name, const std::map<std::string, std::size_t>& counts) const;

    /// Removes leftovers of interrupted creates and removes (".tmp.*", ".trash.*" in volumes/)
    /// whose owner no longer holds the volume's lock.
    void remove_leftovers() const;
};

/// A fresh random suffix for temporary names.
std::string random_suffix();

/// Prefixes of temporary entries in volumes/: never valid volume names (they start with a dot).
inline constexpr std::string_view tmp_prefix = ".tmp.";
inline constexpr std::string_view trash_prefix = ".trash.";

} // namespace buttervolume
