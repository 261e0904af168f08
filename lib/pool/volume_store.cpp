// SPDX-License-Identifier: Apache-2.0
// Reading, listing and building the volumes of volumes/, and removing leftovers of dead creators.
#include "pool/volume_store.hpp"

#include "base/random.hpp"
#include "base/sys.hpp"
#include "btrfs/attributes.hpp"
#include "btrfs/subvolume.hpp"
#include "pool/test_seams.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace buttervolume {

namespace {
constexpr int max_reopen_attempts = 8;

// ".tmp.<volume>.<suffix>" -> "<volume>"
std::string_view owner_of(std::string_view entry, std::string_view prefix)
{
    std::string_view rest = entry.substr(prefix.size());
    auto dot = rest.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : rest.substr(0, dot);
}
} // namespace

Volume VolumeStore::read(int fd, std::string_view name, const btrfs::QuotaState& quota) const
{
    Volume v;
    v.name = name;
    v.path = layout_.volumes().path(name);
    auto info = btrfs::subvolume_info(fd, v.path.native());
    v.created = info.otime;
    v.uuid = btrfs::uuid_to_string(info.uuid);
    v.subvolume_id = info.id;
    v.copy_on_write = !btrfs::get_nocow(fd, v.path.native());
    v.compression = btrfs::get_compression(fd, v.path.native());
    if (quota.enabled) {
        v.size_limit = quota_.limit(info.id);
        // Simple quotas count only extents written after they were enabled (no rescan exists for
        // them): a volume older than that would show a few KiB however full it is.
        if (!quota.simple_since || info.otransid >= *quota.simple_since)
            v.size_used = quota_.referenced(info.id);
    }
    v.ephemeral_source = ephemeral_.source(name);
    return v;
}

Volume VolumeStore::read(std::string_view name) const
{
    UniqueFd fd = layout_.volumes().open_dir(name);
    return read(fd.get(), name);
}

bool VolumeStore::exists(std::string_view name) const
{
    return btrfs::is_subvolume_at(layout_.volumes().fd(), std::string(name).c_str());
}

std::optional<Volume> VolumeStore::find(std::string_view name) const
{
    // A restore swaps a new subvolume in under the name and deletes the one opened here; a
    // remove deletes it. Either way the ioctls on the old fd answer ENOENT: open the name once
    // more (Docker drops a volume's labels when Get fails while the volume still exists).
    // GET_SUBVOL_INFO also answers ENOENT for a live subvolume while a rename of it (restore's
    // exchange, remove's move to .trash) has taken its root back reference out and not yet put
    // it back: so the reopen waits a little, longer each time (1 ms, 2 ms, ... 64 ms at most).
    for (int attempt = 1;; ++attempt) {
        UniqueFd fd = layout_.volumes().try_open_dir(name);
        if (!fd || !btrfs::is_subvolume(fd.get()))
            return std::nullopt;
        try {
            return read(fd.get(), name);
        } catch (const NotFound&) {
            if (attempt == max_reopen_attempts)
                throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1 << (attempt - 1)));
    }
}

void VolumeStore::for_each_name(const std::function<void(std::string_view)>& fn) const
{
    const Dir& dir = layout_.volumes();
    // One stat per entry costs ~4 us (40 ms at 10,000 volumes, Docker's List); the folder's own
    // directory items name the same subvolumes in a few ioctls, when we may search (root).
    // Dot entries are our temporaries; Python buttervolume 1.x left a "metadata.db" file here.
    if (btrfs::for_each_child_subvolume(dir.fd(), dir.path().native(), [&](std::string_view name) {
            if (is_valid_volume_name(name))
                fn(name);
        }))
        return;
    dir.for_each([&](std::string_view entry, unsigned char type) {
        if (!is_valid_volume_name(entry) || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        if (btrfs::is_subvolume_at(dir.fd(), std::string(entry).c_str()))
            fn(entry);
    });
}

std::vector<std::string> VolumeStore::names() const
{
    std::vector<std::string> names;
    for_each_name([&](std::string_view name) { names.emplace_back(name); });
    std::sort(names.begin(), names.end());
    return names;
}

std::size_t VolumeStore::count() const
{
    const Dir& dir = layout_.volumes();
    // Counted in place, without a string or a sort per volume.
    auto fresh = [this] {
        std::size_t n = 0;
        for_each_name([&](std::string_view) { ++n; });
        return n;
    };
    return count_.with(dir.fd(), dir.path().native(), fresh, [](std::size_t n) { return n; });
}

bool VolumeStore::count_current() const
{
    const Dir& dir = layout_.volumes();
    return count_.current(dir.fd(), dir.path().native());
}

std::vector<Volume> VolumeStore::list() const
{
    std::vector<Volume> out;
    const Dir& dir = layout_.volumes();
    const btrfs::QuotaState quota = quota_.state(dir.fd());
    dir.for_each([&](std::string_view entry, unsigned char type) {
        if (!is_valid_volume_name(entry) || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        // A volume removed between the scan and this read is simply not listed.
        UniqueFd fd = dir.try_open_dir(entry);
        if (!fd || !btrfs::is_subvolume_root(fd.get()))
            return;
        try {
            out.push_back(read(fd.get(), entry, quota));
        } catch (const NotFound&) {
            // Deleted (or swapped by a restore) between the open and the ioctl.
            if (auto again = find(entry))
                out.push_back(std::move(*again));
        }
    });
    std::sort(out.begin(), out.end(), [](const Volume& a, const Volume& b) { return a.name < b.name; });
    return out;
}

btrfs::NewSubvolume VolumeStore::build(std::string_view name, int source_fd) const
{
    const Dir& dir = layout_.volumes();
    std::string tmp = fmt::format("{}{}.{}", tmp_prefix, name, random_suffix());
    std::string shown = dir.path(name).native();
    if (source_fd >= 0)
        return btrfs::NewSubvolume::snapshot_of(source_fd, dir.fd(), std::move(tmp), std::move(shown));
    return btrfs::NewSubvolume::create(dir.fd(), std::move(tmp), std::move(shown));
}

void VolumeStore::replace(std::string_view name, int old_fd, int source_fd, const std::string& what,
                          std::string_view step) const
{
    const std::string n(name);
    const std::string shown = layout_.volumes().path(name).native();
    btrfs::NewSubvolume tmp = build(name, source_fd);
    if (old_fd >= 0 && quota_.enabled()) {
        // A snapshot is a new subvolume with its own qgroup: carry the size limit over.
        auto info = btrfs::subvolume_info(old_fd, shown);
        if (auto limit = quota_.limit(info.id)) {
            UniqueFd fd = tmp.open();
            quota_.set_limit(fd.get(), *limit, shown);
        }
    }
    test_kill_point(fmt::format("{}:copy-made", step));
    if (old_fd >= 0)
        tmp.exchange(n, fmt::format("{}: exchange with the current volume", what));
    else
        tmp.commit(n, fmt::format("{}: rename into place", what));
    test_kill_point(fmt::format("{}:exchanged", step));
    // After the exchange tmp holds the previous content: deleted as it goes out of scope.
}

void VolumeStore::remove_leftovers() const
{
    const Dir& dir = layout_.volumes();
    std::vector<std::string> leftovers;
    dir.for_each([&](std::string_view entry, unsigned char) {
        if (entry.starts_with(tmp_prefix) || entry.starts_with(trash_prefix))
            leftovers.emplace_back(entry);
    });
    for (const auto& entry : leftovers) {
        std::string_view prefix = entry.starts_with(tmp_prefix) ? tmp_prefix : trash_prefix;
        std::string_view owner = owner_of(entry, prefix);
        if (!is_valid_volume_name(owner))
            continue; // not ours: never delete what we did not make
        // A creator still at work holds the volume's lock; only leftovers of dead ones are free.
        // A leftover that cannot be deleted now (a read-only pool, too) must not stop the daemon
        // or the CLI from opening the pool: it stays hidden (never listed) and is retried at the
        // next open.
        try {
            VolumeLock lock = layout_.try_lock(owner);
            if (!lock.held() || !dir.exists(entry))
                continue;
            if (btrfs::is_subvolume_at(dir.fd(), entry.c_str()))
                btrfs::delete_subvolume(dir.fd(), entry.c_str(), true, dir.path(entry).native());
        } catch (const Error&) {
        }
    }
}

} // namespace buttervolume
