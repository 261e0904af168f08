// SPDX-License-Identifier: Apache-2.0
// Pool statistics for monitoring: counts kept per folder, free space from statvfs; no lock, no write.
#include "pool/pool_impl.hpp"

#include "base/sys.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <algorithm>

namespace buttervolume {

PoolStatistics Pool::statistics() const
{
    const Impl& p = *impl_;
    PoolStatistics s;
    s.volumes = p.volumes.count();
    s.mounts = p.mounts.total_all();
    s.snapshots = p.snapshots.total();
    struct statvfs vfs;
    if (::fstatvfs(p.layout.volumes().fd(), &vfs) != 0)
        throw_errno(fmt::format("statvfs {}", p.layout.volumes().path().native()));
    s.fs_size_bytes = std::uint64_t(vfs.f_blocks) * vfs.f_frsize;
    s.fs_free_bytes = std::uint64_t(vfs.f_bavail) * vfs.f_frsize;
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
