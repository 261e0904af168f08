// SPDX-License-Identifier: Apache-2.0
// Pool statistics for monitoring: counts kept per folder, free space from statvfs; no lock, no write.
#include "pool/pool_impl.hpp"

#include "base/free_space.hpp"
#include "base/sys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <system_error>

namespace buttervolume {

PoolStatistics Pool::statistics() const
{
    const Impl& p = *impl_;
    PoolStatistics s;
    // Each folder is read only when it changed since the last call. When both did (a daemon's
    // first scrape, or one after a create and a snapshot), they are read side by side, as
    // node_exporter runs its collectors: ~2 ms each at 10,000 entries, nearly all of it the
    // kernel copying directory items. Without a thread to spare (a low nproc limit), in turn.
    std::future<std::size_t> snapshots;
    if (!p.volumes.count_current() && !p.snapshots.total_current()) {
        try {
            snapshots = std::async(std::launch::async, [&p] { return p.snapshots.total(); });
        } catch (const std::system_error&) {
        }
    }
    s.volumes = p.volumes.count();
    s.snapshots = snapshots.valid() ? snapshots.get() : p.snapshots.total();
    s.mounts = p.mounts.total_all();
    FreeSpace space = free_space(p.layout.volumes().fd(), p.layout.volumes().path().native());
    s.fs_size_bytes = space.size_bytes;
    s.fs_free_bytes = space.avail_bytes;
    s.quotas = p.quota.enabled();
    return s;
}

std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> Pool::newest_snapshots() const
{
    auto newest = impl_->snapshots.newest();
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> out(newest.begin(), newest.end());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace buttervolume
