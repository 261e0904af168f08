// SPDX-License-Identifier: Apache-2.0
// Pool::purge: retention applied to one volume's snapshots, under its lock.
#include "pool/pool_impl.hpp"

#include "base/sys.hpp"

#include "pool/test_seams.hpp"

#include <buttervolume/names.hpp>
#include <buttervolume/replication.hpp>

#include <algorithm>

namespace buttervolume {

using Clock = std::chrono::system_clock;

namespace {

// The decision for each snapshot, oldest first: retention, then the caller's protections.
std::vector<PurgeDecision> decide(const std::vector<Snapshot>& snaps, const RetentionPattern& pattern,
                                  const PurgeOptions& opts)
{
    std::vector<Clock::time_point> times;
    std::vector<std::string> names;
    for (const auto& s : snaps) {
        times.push_back(s.time);
        names.push_back(s.name);
    }
    auto verdicts = decide_retention(pattern, times, opts.now.value_or(test_now()), names);
    std::vector<PurgeDecision> out;
    for (std::size_t i = 0; i < snaps.size(); ++i) {
        out.push_back({snaps[i], verdicts[i].keep, verdicts[i].reason, false});
        if (auto it = opts.protect.find(snaps[i].name); it != opts.protect.end() && !verdicts[i].keep) {
            out.back().keep = true;
            out.back().reason = fmt::format("protected: {} (retention alone: {})", it->second, verdicts[i].reason);
        }
    }
    return out;
}

} // namespace

std::vector<PurgeDecision> Pool::purge(std::string_view volume, const RetentionPattern& pattern,
                                       const PurgeOptions& opts)
{
    check_volume_name(volume);
    const Impl& p = *impl_;
    VolumeLock lock = p.layout.lock(volume);
    // The parents the next incremental send to each target needs (lib/replicate/targets.cpp).
    PurgeOptions with_targets = opts;
    for (auto& [name, why] : replication_parents(paths(), volume))
        with_targets.protect.emplace(name, why);
    auto out = decide(p.snapshots.read_all(p.snapshots.scan(volume)), pattern, with_targets);

    SnapshotRecords::Change change(p.records, volume);
    std::size_t remaining = out.size();
    if (!opts.dry_run) {
        for (auto& d : out) {
            if (d.keep)
                continue;
            p.snapshots.remove(d.snapshot.name);
            d.deleted = true;
            --remaining;
            change.removed(d.snapshot.name);
        }
    }
    // Safety names whose snapshot is gone (deleted by hand) are dropped here too.
    change.recounted(remaining, [&](const std::string& name) {
        return std::any_of(out.begin(), out.end(), [&](const auto& d) { return d.snapshot.name == name && !d.deleted; });
    });
    change.finish();
    return out;
}

} // namespace buttervolume
