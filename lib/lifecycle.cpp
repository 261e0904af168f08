// SPDX-License-Identifier: Apache-2.0
// Atomic volume create (build under a temporary name, then rename without replacing) and remove.
#include "btrfs/attributes.hpp"
#include "btrfs/subvolume.hpp"
#include "pool_impl.hpp"
#include "sys.hpp"

#include <buttervolume/names.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <cerrno>
#include <vector>

namespace buttervolume {

namespace {

// Deletes a temporary subvolume on scope exit unless released: an interrupted or failed
// create leaves nothing behind (and a killed process leaves a ".tmp." entry that the next
// Pool open removes).
class TempSubvolume {
public:
    TempSubvolume(int dirfd, std::string name, std::string shown)
        : dirfd_(dirfd), name_(std::move(name)), shown_(std::move(shown))
    {
    }
    ~TempSubvolume()
    {
        if (armed_) {
            try {
                btrfs::delete_subvolume(dirfd_, name_.c_str(), true, shown_);
            } catch (...) {
                // Left for remove_leftovers at the next open; a destructor never throws.
            }
        }
    }
    void release() { armed_ = false; }
    const std::string& name() const { return name_; }

private:
    int dirfd_;
    std::string name_;
    std::string shown_;
    bool armed_ = true;
};

// What differs between what exists and what is asked, for the AlreadyExists message.
std::vector<std::string> differences(const Volume& have, const VolumeOptions& want, bool is_clone)
{
    std::vector<std::string> diff;
    if (!is_clone && have.copy_on_write != want.copy_on_write)
        diff.push_back(fmt::format("copyonwrite is {}, asked {}", have.copy_on_write, want.copy_on_write));
    if (!is_clone && have.compression != want.compression)
        diff.push_back(fmt::format("compression is {}, asked {}",
                                   have.compression ? to_string(*have.compression) : "default",
                                   want.compression ? to_string(*want.compression) : "default"));
    if (have.size_limit != want.size_limit)
        diff.push_back(fmt::format("size is {}, asked {}",
                                   have.size_limit ? format_size(*have.size_limit) : "unlimited",
                                   want.size_limit ? format_size(*want.size_limit) : "unlimited"));
    return diff;
}

} // namespace

Volume Pool::create_volume(std::string_view name, const VolumeOptions& opts)
{
    check_volume_name(name);
    Impl& p = *impl_;
    const std::string n(name);
    const std::string shown = (p.paths.volumes / n).native();

    // The source of a clone: a volume, or a snapshot "<volume>@<timestamp>".
    UniqueFd source;
    std::string source_shown;
    if (opts.from) {
        auto at = opts.from->find('@');
        if (at == std::string::npos) {
            check_volume_name(*opts.from);
            source_shown = (p.paths.volumes / *opts.from).native();
            source = try_open_dir_at(p.volumes.get(), opts.from->c_str(), source_shown);
        } else {
            check_volume_name(std::string_view(*opts.from).substr(0, at));
            // Only the timestamp characters Python and we write; never a path.
            auto ts = std::string_view(*opts.from).substr(at + 1);
            if (ts.empty() || ts.find_first_not_of("0123456789-T:._") != std::string_view::npos)
                throw InvalidArgument(fmt::format("invalid snapshot name '{}' in option 'from'", *opts.from));
            source_shown = (p.paths.snapshots / *opts.from).native();
            source = try_open_dir_at(p.snapshots.get(), opts.from->c_str(), source_shown);
        }
        if (!source || !btrfs::is_subvolume(source.get()))
            throw NotFound(fmt::format("create volume '{}': source '{}' of option 'from' does not exist", name,
                                       *opts.from));
    }

    VolumeLock lock = p.lock(name);

    if (UniqueFd existing = try_open_dir_at(p.volumes.get(), n.c_str(), shown)) {
        if (!btrfs::is_subvolume(existing.get()))
            throw AlreadyExists(fmt::format("create volume '{}': '{}' exists and is not a btrfs subvolume", name, shown));
        Volume have = p.read_volume(existing.get(), name);
        auto diff = differences(have, opts, opts.from.has_value());
        if (opts.from) {
            auto info = btrfs::subvolume_info(existing.get(), shown);
            auto src = btrfs::subvolume_info(source.get(), source_shown);
            if (info.parent_uuid != src.uuid)
                diff.push_back(fmt::format("it is not a clone of '{}'", *opts.from));
        }
        if (!diff.empty())
            throw AlreadyExists(fmt::format("volume '{}' already exists with other options: {}", name,
                                            fmt::join(diff, "; ")));
        return have;
    }

    TempSubvolume tmp(p.volumes.get(), fmt::format("{}{}.{}", tmp_prefix, name, random_suffix()), shown);
    if (source)
        btrfs::create_snapshot(source.get(), p.volumes.get(), tmp.name().c_str(), false, shown);
    else
        btrfs::create_subvolume(p.volumes.get(), tmp.name().c_str(), shown);
    {
        UniqueFd fd = open_dir_at(p.volumes.get(), tmp.name().c_str(), shown);
        // Attributes go on the root while it is still empty: no-COW only takes on empty files,
        // and both are inherited by everything created inside afterwards.
        if (!opts.copy_on_write)
            btrfs::set_nocow(fd.get(), shown);
        if (opts.compression)
            btrfs::set_compression(fd.get(), *opts.compression, shown);
        if (opts.size_limit)
            p.quota->set_limit(fd.get(), *opts.size_limit, shown);
    }
    if (::renameat2(p.volumes.get(), tmp.name().c_str(), p.volumes.get(), n.c_str(), RENAME_NOREPLACE) < 0) {
        if (errno == EEXIST)
            throw AlreadyExists(fmt::format("create volume '{}': '{}' appeared meanwhile and is not ours", name, shown));
        throw_errno(fmt::format("create volume '{}': rename into place", name));
    }
    tmp.release();
    // Counts left by an earlier volume of this name (removed behind our back) are not this one's.
    p.write_mounts(name, {});
    UniqueFd fd = open_dir_at(p.volumes.get(), n.c_str(), shown);
    return p.read_volume(fd.get(), name);
}

void Pool::remove_volume(std::string_view name, const RemoveOptions& opts)
{
    check_volume_name(name);
    Impl& p = *impl_;
    const std::string n(name);
    const std::string shown = (p.paths.volumes / n).native();
    VolumeLock lock = p.lock(name);
    if (!btrfs::is_subvolume_at(p.volumes.get(), n.c_str()))
        throw NotFound(fmt::format("remove volume '{}': no such volume", name));
    // The kernel lets a subvolume be deleted under a live bind mount (the container then sees
    // ENOENT everywhere), so the plugin's own mount counts are what protects the data.
    auto mounts = p.read_mounts(name);
    if (!mounts.empty() && !opts.force) {
        std::size_t total = 0;
        for (const auto& [id, count] : mounts)
            total += count;
        throw Busy(fmt::format("remove volume '{}': it is mounted ({} mount{}); stop the containers using it, "
                               "or force the removal",
                               name, total, total == 1 ? "" : "s"));
    }

    // Out of sight first, atomically; the recursive delete of nested subvolumes is not atomic,
    // and a crash in it leaves a ".trash." entry that the next Pool open finishes.
    std::string trash = fmt::format("{}{}.{}", trash_prefix, name, random_suffix());
    if (::renameat2(p.volumes.get(), n.c_str(), p.volumes.get(), trash.c_str(), RENAME_NOREPLACE) < 0)
        throw_errno(fmt::format("remove volume '{}'", name));
    try {
        btrfs::delete_subvolume(p.volumes.get(), trash.c_str(), true, shown);
    } catch (const Error& e) {
        // Put it back rather than leave the volume half-gone.
        ::renameat2(p.volumes.get(), trash.c_str(), p.volumes.get(), n.c_str(), RENAME_NOREPLACE);
        throw Error(e.code(), fmt::format("remove volume '{}': {}", name, e.what()));
    }
    if (!mounts.empty())
        p.write_mounts(name, {});
}

} // namespace buttervolume
