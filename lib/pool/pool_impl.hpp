// SPDX-License-Identifier: Apache-2.0
// Pool::Impl: the parts a pool is made of, each the one owner of its folder or records.
#pragma once

#include "btrfs/quota.hpp"
#include "pool/ephemeral.hpp"
#include "pool/layout.hpp"
#include "pool/mount_table.hpp"
#include "pool/snapshot_records.hpp"
#include "pool/snapshot_store.hpp"
#include "pool/volume_store.hpp"

#include <buttervolume/pool.hpp>

namespace buttervolume {

/// What Pool's member functions work with. Declared in the library only; the parts are built
/// in this order and refer to the ones before them.
class Pool::Impl {
public:
    explicit Impl(const PoolPaths& paths)
        : layout(paths), quota(layout.volumes().fd()), mounts(layout.state()), records(layout.state()),
          ephemeral(layout.state()), volumes(layout, quota, ephemeral), snapshots(layout, quota, records)
    {
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    const PoolLayout layout;
    const btrfs::Quota quota;
    const MountTable mounts;
    const SnapshotRecords records;
    const EphemeralRecords ephemeral;
    const VolumeStore volumes;
    const SnapshotStore snapshots;
};

} // namespace buttervolume
