// SPDX-License-Identifier: Apache-2.0
// Pool::replicate and Pool::pull: the replication free functions as members of the pool.
#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

namespace buttervolume {

ReplicateResult Pool::replicate(std::string_view snapshot, const Remote& remote, const ReplicateOptions& opts)
{
    return buttervolume::replicate(*this, snapshot, remote, opts);
}

PullResult Pool::pull(std::string_view volume, const Remote& remote)
{
    return buttervolume::pull(*this, volume, remote);
}

} // namespace buttervolume
