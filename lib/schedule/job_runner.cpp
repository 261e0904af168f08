// SPDX-License-Identifier: Apache-2.0
// run_job: snapshot (skipping an unchanged volume), purge, snapshot+purge, replicate, synchronize.
#include "schedule/job_runner.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace buttervolume {

namespace {

// Python #38: a plugin restarting in a loop kept snapshotting until the disk was full.
void check_free_space(const Pool& pool, double min_percent)
{
    if (min_percent <= 0)
        return;
    struct statvfs st{};
    const auto& root = pool.paths().root;
    if (::statvfs(root.c_str(), &st) < 0)
        throw Error(errno, fmt::format("free space of '{}': {}", root.native(), std::strerror(errno)));
    if (st.f_blocks == 0)
        return;
    double free_percent = 100.0 * static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
    if (free_percent < min_percent)
        throw Error(ENOSPC, fmt::format("only {:.1f}% free on '{}', below the {:g}% floor (MIN_FREE): nothing written",
                                        free_percent, root.native(), min_percent));
}

// The snapshot step of snapshot, snapshot+purge, replicate and synchronize. Returns the
// snapshot that now holds the volume's content; `unchanged` tells whether it was already there.
std::string snapshot_step(Pool& pool, const std::string& volume, bool& unchanged)
{
    if (auto same = pool.unchanged_since_snapshot(volume)) {
        unchanged = true;
        return same->name;
    }
    unchanged = false;
    return pool.snapshot(volume).name;
}

JobOutcome do_purge(Pool& pool, const ScheduledJob& job, std::string prefix)
{
    auto decisions = pool.purge(job.volume, job.action.pattern);
    std::size_t deleted = 0;
    for (const auto& d : decisions)
        deleted += d.deleted ? 1 : 0;
    return {JobResult::Ok, prefix + fmt::format("purged {} of {} snapshots", deleted, decisions.size())};
}

JobOutcome run_unchecked(Pool& pool, const ScheduledJob& job, const JobContext& ctx)
{
    const JobKind kind = job.action.kind;
    if (kind == JobKind::Purge)
        return do_purge(pool, job, "");
    if (!pool.has_volume(job.volume))
        throw NotFound(fmt::format("volume '{}' does not exist", job.volume));
    check_free_space(pool, ctx.min_free_percent);
    bool unchanged = false;
    std::string snap = snapshot_step(pool, job.volume, unchanged);
    std::string did = unchanged ? fmt::format("unchanged since {}", snap) : fmt::format("snapshot {}", snap);
    switch (kind) {
    case JobKind::Snapshot:
        return {unchanged ? JobResult::Unchanged : JobResult::Ok, did};
    case JobKind::SnapshotPurge:
        return do_purge(pool, job, did + "; ");
    case JobKind::Replicate:
    case JobKind::Synchronize:
        throw Error(ENOSYS, fmt::format("{}: not in this build yet (replication lands with the replication branch)",
                                        job.action.str()));
    case JobKind::Purge:
        break;
    }
    return {JobResult::Ok, did};
}

} // namespace

JobOutcome run_job(Pool& pool, const ScheduledJob& job, const JobContext& ctx)
{
    try {
        return run_unchecked(pool, job, ctx);
    } catch (const std::exception& e) {
        return {JobResult::Failed, e.what()};
    }
}

} // namespace buttervolume
