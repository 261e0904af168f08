// SPDX-License-Identifier: Apache-2.0
// PoolLayout: the open folders of a pool (volumes/, snapshots/, config/, state/) and its locks.
#pragma once

#include "base/dir.hpp"
#include "pool/volume_lock.hpp"

#include <buttervolume/pool.hpp>

#include <string_view>

namespace buttervolume {

/// Opens (creating what is missing) the folders of a pool and checks they are on btrfs.
class PoolLayout {
public:
    /// Throws NotFound when the root does not exist, NotBtrfs when a folder is not on btrfs.
    explicit PoolLayout(const PoolPaths& paths);

    const PoolPaths& paths() const { return paths_; }
    const Dir& volumes() const { return volumes_; }
    const Dir& snapshots() const { return snapshots_; }
    const Dir& config() const { return config_; }
    const Dir& state() const { return state_; }

    /// Blocks until this process holds the lock of volume (state/locks/<volume>).
    VolumeLock lock(std::string_view volume) const { return VolumeLock(locks_.fd(), volume); }
    /// The lock of volume if it is free (check held()).
    VolumeLock try_lock(std::string_view volume) const { return VolumeLock::try_lock(locks_.fd(), volume); }
    /// The lock of volume if it is free and its file exists; creates nothing (for readers).
    VolumeLock try_lock_existing(std::string_view volume) const
    {
        return VolumeLock::try_lock_existing(locks_.fd(), volume);
    }
    /// The state/locks folder (for the clean-up of lock files of names that are no volume).
    const Dir& locks() const { return locks_; }

private:
    PoolPaths paths_;
    Dir volumes_;
    Dir snapshots_;
    Dir config_;
    Dir state_;
    Dir locks_;
};

} // namespace buttervolume
