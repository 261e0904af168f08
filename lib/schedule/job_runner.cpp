// SPDX-License-Identifier: Apache-2.0
// run_job: snapshot (skipping an unchanged volume), purge, snapshot+purge, replicate, synchronize.
#include "schedule/job_runner.hpp"

#include "base/free_space.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>

namespace buttervolume {

namespace {

// Python #38: a plugin restarting in a loop kept snapshotting until the disk was full.
void check_free_space(const Pool& pool, double min_percent)
{
    if (min_percent <= 0)
        return;
    const auto& root = pool.paths().root;
    double free_percent = free_space(root).percent();
    if (free_percent < min_percent)
        throw Error(ENOSPC, fmt::format("only {:.1f}% free on '{}', below the {:g}% floor (MIN_FREE): nothing written",
                                        free_percent, root.native(), min_percent));
}

// The snapshot step of snapshot, snapshot+purge and replicate. Returns the
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

// The hosts of a replicate or synchronize job, with the daemon's ssh settings: SSH_PORT from
// the environment or config.ini (in ctx), then what the replication commands use
// (BUTTERVOLUME_SSH_CONFIG, <root>/ssh/config).
std::vector<Remote> remotes_of(const Pool& pool, const ScheduledJob& job, const JobContext& ctx)
{
    RemoteSettings flags;
    flags.port = ctx.ssh_port;
    const RemoteSettings settings = resolve_remote_settings(flags, pool.paths());
    std::vector<Remote> out;
    for (const auto& host : job.action.hosts)
        out.push_back(Remote::parse(host, settings));
    return out;
}

// Each host is tried; the job fails when one did, naming each failure, and is retried as a
// whole (a host that already has the snapshot then says so and gets nothing). Nothing is
// removed on either side: the snapshot stays here for the retry, and the remote's receive is
// atomic and never deletes a snapshot.
JobOutcome do_replicate(Pool& pool, const ScheduledJob& job, const JobContext& ctx, const std::string& snap,
                        const std::string& did, std::vector<JobTransfer>& transfers)
{
    std::vector<std::string> sent, failed;
    const std::vector<Remote> remotes = remotes_of(pool, job, ctx);
    for (std::size_t i = 0; i < remotes.size(); ++i) {
        const Remote& remote = remotes[i];
        JobTransfer& transfer = transfers.emplace_back(JobTransfer{job.action.hosts[i], 0, false});
        try {
            ReplicateResult r = pool.replicate(snap, remote, {});
            transfer.bytes = r.bytes;
            transfer.ok = true;
            if (r.already_there)
                sent.push_back(fmt::format("{} already had it", remote.spec));
            else
                sent.push_back(fmt::format("sent to {} ({})", remote.spec,
                                           r.parent ? "incremental from " + *r.parent : std::string("in full")));
        } catch (const std::exception& e) {
            failed.push_back(e.what());
        }
    }
    if (!failed.empty())
        throw Error(EIO, fmt::format("{}; {}", did, fmt::join(failed, "; ")));
    return {JobResult::Ok, fmt::format("{}; {}", did, fmt::join(sent, ", "))};
}

// Python's synchronize: a snapshot (sync_volume's safety snapshot), then an rsync pull of the
// live volume from each host; the job fails when one host did.
JobOutcome do_synchronize(Pool& pool, const ScheduledJob& job, const JobContext& ctx)
{
    std::string safety;
    auto results = sync_volume(pool, job.volume, remotes_of(pool, job, ctx), &safety);
    std::vector<std::string> synced, failed;
    for (const auto& r : results)
        (r.ok ? synced : failed).push_back(r.ok ? r.host : r.error);
    const std::string did = fmt::format("safety snapshot {}", safety);
    if (!failed.empty())
        throw Error(EIO, fmt::format("{}; {}", did, fmt::join(failed, "; ")));
    return {JobResult::Ok, fmt::format("{}; synced from {}", did, fmt::join(synced, ", "))};
}

JobOutcome run_unchecked(Pool& pool, const ScheduledJob& job, const JobContext& ctx,
                         std::vector<JobTransfer>& transfers)
{
    const JobKind kind = job.action.kind;
    if (kind == JobKind::Purge)
        return do_purge(pool, job, "");
    if (!pool.has_volume(job.volume))
        throw NotFound(fmt::format("volume '{}' does not exist", job.volume));
    check_free_space(pool, ctx.min_free_percent);
    if (kind == JobKind::Synchronize)
        return do_synchronize(pool, job, ctx);
    bool unchanged = false;
    std::string snap = snapshot_step(pool, job.volume, unchanged);
    std::string did = unchanged ? fmt::format("unchanged since {}", snap) : fmt::format("snapshot {}", snap);
    switch (kind) {
    case JobKind::Snapshot:
        return {unchanged ? JobResult::Unchanged : JobResult::Ok, did};
    case JobKind::SnapshotPurge:
        return do_purge(pool, job, did + "; ");
    case JobKind::Replicate:
        return do_replicate(pool, job, ctx, snap, did, transfers);
    case JobKind::Synchronize:
    case JobKind::Purge:
        break;
    }
    return {JobResult::Ok, did};
}

} // namespace

JobOutcome run_job(Pool& pool, const ScheduledJob& job, const JobContext& ctx, std::vector<JobTransfer>* transfers)
{
    std::vector<JobTransfer> sent;
    JobOutcome outcome;
    try {
        outcome = run_unchecked(pool, job, ctx, sent);
    } catch (const std::exception& e) {
        outcome = {JobResult::Failed, e.what()};
    }
    if (transfers)
        *transfers = std::move(sent);
    return outcome;
}

} // namespace buttervolume
