// SPDX-License-Identifier: Apache-2.0
// A pool root shared with Docker's local volume driver (the seed's /var/lib/docker/volumes).
#pragma once

#include "base/dir.hpp"

#include <buttervolume/pool.hpp>

namespace buttervolume {

/// True when root is the volume directory of a Docker engine (it holds Docker's metadata.db).
bool is_docker_volume_root(const Dir& root);

/// Docker's local driver adopts, at its next start, every directory of its volume directory
/// as a local volume, and `docker volume rm NAME` or `docker volume prune` then deletes that
/// directory recursively: our volumes/ or snapshots/ with every volume in it. For each folder
/// of paths that sits directly in root, this creates it when missing and puts in it a link
/// `_data -> ..`, which Docker resolves to its own volume root and so refuses to remove
/// ("Unable to remove a directory outside of the local volume root"). Throws InvalidArgument,
/// changing nothing, when such a folder already holds a `_data` that is not that link (it is
/// one of Docker's own local volumes); Error when the link cannot be made.
void guard_folders_from_docker(const Dir& root, const PoolPaths& paths);

} // namespace buttervolume
