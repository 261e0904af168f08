// SPDX-License-Identifier: Apache-2.0
// Metrics::scrape: pool counts, per-volume series on request, requests, jobs, build and process.
#include "metrics/collector.hpp"

#include "common/log.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/version.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace buttervolume::metrics {

namespace {

double unix_seconds(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The resident set from /proc/self/statm (its second field, in pages): one read, no process.
double resident_bytes()
{
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return double(resident) * double(::sysconf(_SC_PAGESIZE));
}

void write_pool(Exposition& out, const Pool& pool, bool per_volume)
{
    const PoolStatistics s = pool.statistics();
    out.family("buttervolume_volumes", "gauge", "Volumes in the pool.");
    out.sample("buttervolume_volumes", {}, double(s.volumes));
    out.family("buttervolume_mounts", "gauge", "Mounts of volumes recorded this boot (a volume mounted twice counts twice).");
    out.sample("buttervolume_mounts", {}, double(s.mounts));
    out.family("buttervolume_snapshots", "gauge", "Snapshots <volume>@<timestamp> in the pool.");
    out.sample("buttervolume_snapshots", {}, double(s.snapshots));
    out.family("buttervolume_pool_size_bytes", "gauge", "Size of the pool's btrfs filesystem.");
    out.sample("buttervolume_pool_size_bytes", {}, double(s.fs_size_bytes));
    out.family("buttervolume_pool_free_bytes", "gauge", "Bytes still free for writing on the pool's filesystem.");
    out.sample("buttervolume_pool_free_bytes", {}, double(s.fs_free_bytes));
    out.family("buttervolume_pool_quotas_enabled", "gauge", "1 when btrfs quotas are on (size limits enforced).");
    out.sample("buttervolume_pool_quotas_enabled", {}, s.quotas ? 1 : 0);
    if (!per_volume)
        return;
    out.family("buttervolume_volume_newest_snapshot_timestamp_seconds", "gauge",
               "When the newest snapshot of each volume was taken (Unix time), for volumes with one.");
    for (const auto& [volume, t] : pool.newest_snapshots())
        out.sample("buttervolume_volume_newest_snapshot_timestamp_seconds", {{"volume", volume}}, unix_seconds(t));
    out.family("buttervolume_volume_used_bytes", "gauge",
               "Bytes referenced by each volume that has a size limit (quota accounting).");
    // Each family's samples together, as the format requires: one listing, two passes over it.
    const std::vector<Volume> volumes = pool.volumes();
    for (const Volume& v : volumes)
        if (v.size_limit && v.size_used)
            out.sample("buttervolume_volume_used_bytes", {{"volume", v.name}}, double(*v.size_used));
    out.family("buttervolume_volume_size_limit_bytes", "gauge", "The size limit of each volume that has one.");
    for (const Volume& v : volumes)
        if (v.size_limit)
            out.sample("buttervolume_volume_size_limit_bytes", {{"volume", v.name}}, double(*v.size_limit));
}

} // namespace

Metrics::Metrics(const Pool& pool, MetricsOptions options)
    : pool_(pool), options_(options), started_(std::chrono::system_clock::now()), requests_(options_.endpoints)
{
}

std::string Metrics::scrape() const
{
    Exposition out(options_.per_volume ? 1 << 20 : 16 << 10);
    bool pool_up = true;
    try {
        write_pool(out, pool_, options_.per_volume);
    } catch (const std::exception& e) {
        pool_up = false;
        common::log_line(common::LogLevel::Warn, fmt::format("metrics: the pool cannot be read: {}", e.what()));
    }
    out.family("buttervolume_pool_up", "gauge", "1 when the pool could be read whole for this scrape.");
    out.sample("buttervolume_pool_up", {}, pool_up ? 1 : 0);
    requests_.write(out);
    jobs_.write(out);
    out.family("buttervolume_build_info", "gauge", "The running buttervolume's version (always 1).");
    out.sample("buttervolume_build_info", {{"version", BUTTERVOLUME_VERSION}}, 1);
    out.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.");
    out.sample("process_start_time_seconds", {}, unix_seconds(started_));
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out.sample("process_resident_memory_bytes", {}, resident_bytes());
    return out.take();
}

} // namespace buttervolume::metrics
