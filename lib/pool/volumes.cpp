// SPDX-License-Identifier: Apache-2.0
// The volume lifecycle: atomic create (also from= a source), clone, and remove.
#include "pool/pool_impl.hpp"

#include "base/mountinfo.hpp"
#include "base/random.hpp"
#include "base/sys.hpp"
#include "btrfs/attributes.hpp"
#include "btrfs/subvolume.hpp"
#include "pool/test_seams.hpp"

#include <buttervolume/names.hpp>
#include <buttervolume/snapshot.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <cerrno>
#include <vector>

namespace buttervolume {

namespace {

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

// Mount counts left by an earlier volume of this name (removed behind our back) are not the new
// one's. Best effort, after the commit: the volume exists, and stale counts left by a failure
// here only make it look mounted (remove and restore refuse; never the other way round).
void forget_old_mounts(const MountTable& mounts, std::string_view name) noexcept
{
    try {
        mounts.forget(name);
    } catch (const Error&) {
    }
}

// Likewise for an ephemeral record once its volume is gone: a record left by a failure here is
// removed at the next Pool open, and every create or clone of the name forgets it first.
void forget_ephemeral_record(const EphemeralRecords& records, std::string_view name) noexcept
{
    try {
        records.forget(name);
    } catch (const Error&) {
    }
}

// Whether an existing volume is the clone asked for. An ephemeral volume is matched by its
// recorded source name: its content (and so its parent UUID) changes at every first mount.
void compare_source(std::vector<std::string>& diff, const Volume& have, const VolumeOptions& want, int existing_fd,
                    int source_fd, const std::string& shown)
{
    if (have.ephemeral_source && !want.ephemeral) {
        diff.push_back(
            fmt::format("it is ephemeral (a fresh clone of '{}' at each first mount)", *have.ephemeral_source));
    } else if (!have.ephemeral_source && want.ephemeral) {
        diff.push_back("it is not ephemeral");
    } else if (have.ephemeral_source) {
        if (*have.ephemeral_source != *want.from)
            diff.push_back(
                fmt::format("it is an ephemeral clone of '{}', asked '{}'", *have.ephemeral_source, *want.from));
    } else if (want.from) {
        auto info = btrfs::subvolume_info(existing_fd, shown);
        auto src = btrfs::subvolume_info(source_fd, *want.from);
        if (info.parent_uuid != src.uuid)
            diff.push_back(fmt::format("it is not a clone of '{}'", *want.from));
    }
}

} // namespace

Volume Pool::create_volume(std::string_view name, const VolumeOptions& opts)
{
    check_volume_name(name);
    const Impl& p = *impl_;
    const std::string n(name);
    const std::string shown = p.layout.volumes().path(name).native();
    if (opts.ephemeral && !opts.from)
        throw InvalidArgument(fmt::format("create volume '{}': option 'ephemeral=true' needs 'from=<volume>' or "
                                          "'from=<volume>@<timestamp>'",
                                          name));

    // The source of a clone: a volume, or a snapshot "<volume>@<timestamp>".
    UniqueFd source;
    if (opts.from)
        source = p.snapshots.open_source(*opts.from, fmt::format("create volume '{}' (option 'from')", name));

    VolumeLock lock = p.layout.lock(name);

    if (UniqueFd existing = p.layout.volumes().try_open_dir(name)) {
        if (!btrfs::is_subvolume(existing.get()))
            throw AlreadyExists(fmt::format("create volume '{}': '{}' exists and is not a btrfs subvolume", name, shown));
        Volume have = p.volumes.read(existing.get(), name);
        auto diff = differences(have, opts, opts.from.has_value());
        compare_source(diff, have, opts, existing.get(), source.get(), shown);
        if (!diff.empty())
            throw AlreadyExists(fmt::format("volume '{}' already exists with other options: {}", name,
                                            fmt::join(diff, "; ")));
        return have;
    }

    // Quotas on before the subvolume exists: with simple quotas, a subvolume older than their
    // enabling has its usage shown as unknown.
    if (opts.size_limit)
        p.quota.enable(p.layout.volumes().fd());
    btrfs::NewSubvolume tmp = p.volumes.build(name, source ? source.get() : -1);
    Volume made;
    {
        UniqueFd fd = tmp.open();
        // Attributes go on the root while it is still empty: no-COW only takes on empty files,
        // and both are inherited by everything created inside afterwards.
        if (!opts.copy_on_write)
            btrfs::set_nocow(fd.get(), shown);
        if (opts.compression)
            btrfs::set_compression(fd.get(), *opts.compression, shown);
        if (opts.size_limit)
            p.quota.set_limit(fd.get(), *opts.size_limit, shown);
        // Read back before the rename: once the volume is in place the create has happened,
        // and a failure to read it must not be reported as a failed create.
        made = p.volumes.read(fd.get(), name);
    }
    // Recorded before the volume appears: it is never seen without its option. A crash before
    // the rename leaves a record without a volume, which the next Pool open removes.
    if (opts.ephemeral) {
        p.ephemeral.write(name, *opts.from);
        test_kill_point("create:ephemeral-recorded");
    } else {
        p.ephemeral.forget(name);
    }
    if (int err = tmp.try_commit(n)) {
        p.ephemeral.forget(name);
        if (err == EEXIST)
            throw AlreadyExists(fmt::format("create volume '{}': '{}' appeared meanwhile and is not ours", name, shown));
        throw_errno(err, fmt::format("create volume '{}': rename into place", name));
    }
    forget_old_mounts(p.mounts, name);
    // Read back before the record was written: the record is the volume's now.
    made.ephemeral_source = opts.ephemeral ? opts.from : std::nullopt;
    return made;
}

Volume Pool::clone(std::string_view source, std::string_view target)
{
    check_volume_name(target);
    const Impl& p = *impl_;
    const std::string t(target);
    const std::string what = fmt::format("clone '{}' to volume '{}'", source, target);
    UniqueFd src = p.snapshots.open_source(source, what);
    VolumeLock lock = p.layout.lock(target);
    if (p.layout.volumes().exists(t))
        throw AlreadyExists(fmt::format("{}: volume '{}' already exists", what, target));
    btrfs::NewSubvolume tmp = p.volumes.build(target, src.get());
    // Records left by an earlier volume of this name are not this one's.
    p.ephemeral.forget(target);
    Volume made = p.volumes.read(tmp.open().get(), target);
    tmp.commit(t, fmt::format("{}: rename into place", what));
    forget_old_mounts(p.mounts, target);
    return made;
}

void Pool::remove_volume(std::string_view name, const RemoveOptions& opts)
{
    check_volume_name(name);
    const Impl& p = *impl_;
    const std::string n(name);
    const int dirfd = p.layout.volumes().fd();
    const std::string shown = p.layout.volumes().path(name).native();
    VolumeLock lock = p.layout.lock(name);
    if (!p.volumes.exists(name))
        throw NotFound(fmt::format("remove volume '{}': no such volume", name));
    // The kernel lets a subvolume be deleted under a live bind mount (the container then sees
    // ENOENT everywhere), so the plugin's own mount counts are what protects the data.
    auto mounts = p.mounts.read(name);
    if (!mounts.empty() && !opts.force) {
        std::size_t total = 0;
        for (const auto& [id, count] : mounts)
            total += count;
        throw Busy(fmt::format("remove volume '{}': it is mounted ({} mount{}); stop the containers using it, "
                               "or force the removal",
                               name, total, total == 1 ? "" : "s"));
    }
    // Mounts the counts do not know of: a bind mount (docker run -v <path>:/data), or counts
    // lost. Restore refuses these the same way.
    if (!opts.force)
        if (auto where = mount_of(p.layout.volumes().path(name)))
            throw Busy(fmt::format("remove volume '{}': the volume is {}; unmount it, or force the removal", name,
                                   *where));

    // Out of sight first, atomically; the recursive delete of nested subvolumes is not atomic,
    // and a crash in it leaves a ".trash." entry that the next Pool open finishes.
    std::string trash = fmt::format("{}{}.{}", trash_prefix, name, random_suffix());
    if (::renameat2(dirfd, n.c_str(), dirfd, trash.c_str(), RENAME_NOREPLACE) < 0)
        throw_errno(fmt::format("remove volume '{}'", name));
    try {
        btrfs::delete_subvolume(dirfd, trash.c_str(), true, shown);
    } catch (const Error& e) {
        // Put it back rather than leave the volume half-gone.
        ::renameat2(dirfd, trash.c_str(), dirfd, n.c_str(), RENAME_NOREPLACE);
        throw Error(e.code(), fmt::format("remove volume '{}': {}", name, e.what()));
    }
    if (!mounts.empty())
        forget_old_mounts(p.mounts, name);
    forget_ephemeral_record(p.ephemeral, name);
}

} // namespace buttervolume
