// SPDX-License-Identifier: Apache-2.0
// Opening a pool's folders: the root must exist and every folder must be on btrfs.
#include "pool/layout.hpp"

#include "pool/docker_root.hpp"

#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace buttervolume {

namespace {

// A program a container made setuid root in its volume, or a device node a stream brought in,
// must not be reachable by the host's other users through the pool (Docker's CVE-2021-41091,
// closed there by making its data folders 0710/0701). Containers never need the way through
// these folders: the engine (root) resolves the Mountpoint and binds it, and a container sees
// only the volume's own root. Existing pools are closed on every open; a pool on a read-only
// filesystem, or opened by a user who does not own it (a read-only command), is left as it is.
void close_to_other_users(const Dir& dir)
{
    struct stat st {};
    if (::fstat(dir.fd(), &st) != 0 || (st.st_mode & 077) == 0)
        return;
    if (::fchmod(dir.fd(), st.st_mode & 07700) != 0 && errno != EROFS && errno != EPERM)
        throw_errno(fmt::format("close '{}' to other users (chmod 0700)", dir.path().native()));
}

} // namespace

PoolLayout::PoolLayout(const PoolPaths& given) : paths_(given)
{
    // A relative root would give Docker a relative Mountpoint; Docker cleans paths the same way.
    for (auto* f : {&paths_.root, &paths_.volumes, &paths_.snapshots, &paths_.config, &paths_.state})
        *f = std::filesystem::absolute(*f).lexically_normal();
    const PoolPaths& p = paths_;
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
    for (const Dir* d : {&volumes_, &snapshots_}) {
        if (!btrfs::is_btrfs(d->fd()))
            throw NotBtrfs(fmt::format("'{}' is not on a btrfs filesystem", d->path().native()));
        close_to_other_users(*d);
    }
}

} // namespace buttervolume
