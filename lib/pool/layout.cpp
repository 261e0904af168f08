// SPDX-License-Identifier: Apache-2.0
// Opening a pool's folders: the root must exist and every folder must be on btrfs.
#include "pool/layout.hpp"

#include "pool/docker_root.hpp"

#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"

#include <fcntl.h>

namespace buttervolume {

PoolLayout::PoolLayout(const PoolPaths& p) : paths_(p)
{
    Dir root = Dir::try_open(p.root);
    if (!root)
        throw NotFound(fmt::format("pool root '{}' does not exist (run 'buttervolume init')", p.root.native()));
    if (!btrfs::is_btrfs(root.fd()))
        throw NotBtrfs(fmt::format("pool root '{}' is not on a btrfs filesystem (run 'buttervolume init' "
                                   "to create a btrfs image there)",
                                   p.root.native()));
    // The seed's root, /var/lib/docker/volumes: keep Docker's local driver from deleting ours.
    if (is_docker_volume_root(root))
        guard_folders_from_docker(root, p);
    volumes_ = Dir::open(p.volumes, true);
    snapshots_ = Dir::open(p.snapshots, true);
    config_ = Dir::open(p.config, true);
    state_ = Dir::open(p.state, true);
    locks_ = state_.sub("locks", true, 0700);
    for (const Dir* d : {&volumes_, &snapshots_})
        if (!btrfs::is_btrfs(d->fd()))
            throw NotBtrfs(fmt::format("'{}' is not on a btrfs filesystem", d->path().native()));
}

} // namespace buttervolume
