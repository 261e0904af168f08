// SPDX-License-Identifier: Apache-2.0
// Clean-up at pool open of what dead writers leave in state/: temporary files, lock files.
#pragma once

#include "pool/layout.hpp"
#include "pool/volume_store.hpp"

namespace buttervolume {

/// Removes the ".<name>.<random>.tmp" files of state/mounts and state/snapshots whose writer is
/// gone (it held the volume's lock while writing), and the lock files of names that are no
/// volume and that nobody holds (every Unmount of an unknown name used to leave one). Best
/// effort, never throws: a read-only pool is opened all the same.
void remove_state_leftovers(const PoolLayout& layout, const VolumeStore& volumes) noexcept;

} // namespace buttervolume
