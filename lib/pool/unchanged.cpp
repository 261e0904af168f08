// SPDX-License-Identifier: Apache-2.0
// Pool::unchanged_since_snapshot: has a volume changed since its newest snapshot (btrfs generations)?
#include "pool/pool_impl.hpp"

#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"

#include <buttervolume/names.hpp>

#include <unistd.h>

namespace buttervolume {

std::optional<Snapshot> Pool::unchanged_since_snapshot(std::string_view volume) const
{
    check_volume_name(volume);
    const Impl& p = *impl_;
    const std::string what = fmt::format("compare volume '{}' with its newest snapshot", volume);
    UniqueFd vol = p.layout.volumes().try_open_dir(volume);
    if (!vol)
        throw NotFound(fmt::format("{}: no such volume", what));
    // A subvolume's generation is its root item's, updated when a transaction commits: writes
    // still in memory would not show. syncfs commits them (and does nothing when nothing is
    // dirty, so it does not itself make the volume look changed).
    if (::syncfs(vol.get()) < 0)
        throw_errno(what);
    const auto vinfo = btrfs::subvolume_info(vol.get(), p.layout.volumes().path(volume).native());
    std::vector<Snapshot> all = p.snapshots.read_all(p.snapshots.scan(volume));
    // The newest snapshot taken of this very subvolume: after a restore the volume is another
    // subvolume, and a received snapshot was never taken here, so neither can tell.
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (it->parent_uuid != btrfs::uuid_to_string(vinfo.uuid) || !it->received_uuid.empty())
            continue;
        UniqueFd snap = p.layout.snapshots().try_open_dir(it->name);
        if (!snap)
            continue;
        const auto sinfo = btrfs::subvolume_info(snap.get(), it->path.native());
        // Taking the snapshot COWs the volume's root in the same transaction, so an untouched
        // volume's generation equals the snapshot's creation transaction (otransid).
        if (vinfo.generation <= sinfo.otransid)
            return *it;
        return std::nullopt;
    }
    return std::nullopt;
}

} // namespace buttervolume
