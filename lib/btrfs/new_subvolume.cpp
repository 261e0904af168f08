// SPDX-License-Identifier: Apache-2.0
// NewSubvolume: create or snapshot under a temporary name; renameat2 into place, or delete.
#include "btrfs/new_subvolume.hpp"

#include "base/sys.hpp"
#include "btrfs/subvolume.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <cerrno>
#include <utility>

namespace buttervolume::btrfs {

NewSubvolume::NewSubvolume(int dirfd, std::string tmp, std::string shown, bool recursive)
    : dirfd_(dirfd), tmp_(std::move(tmp)), shown_(std::move(shown)), recursive_(recursive)
{
}

NewSubvolume NewSubvolume::create(int dirfd, std::string tmp_name, std::string shown, bool recursive)
{
    create_subvolume(dirfd, tmp_name.c_str(), shown);
    NewSubvolume s(dirfd, std::move(tmp_name), std::move(shown), recursive);
    s.armed_ = true;
    return s;
}

NewSubvolume NewSubvolume::snapshot_of(int source_fd, int dirfd, std::string tmp_name, std::string shown,
                                       bool recursive)
{
    create_snapshot(source_fd, dirfd, tmp_name.c_str(), false, shown);
    NewSubvolume s(dirfd, std::move(tmp_name), std::move(shown), recursive);
    s.armed_ = true;
    return s;
}

NewSubvolume::NewSubvolume(NewSubvolume&& other) noexcept
    : dirfd_(other.dirfd_), tmp_(std::move(other.tmp_)), shown_(std::move(other.shown_)),
      recursive_(other.recursive_), armed_(std::exchange(other.armed_, false))
{
}

NewSubvolume::~NewSubvolume()
{
    discard();
}

UniqueFd NewSubvolume::open() const
{
    return open_dir_at(dirfd_, tmp_.c_str(), shown_);
}

int NewSubvolume::try_commit(const std::string& name)
{
    if (::renameat2(dirfd_, tmp_.c_str(), dirfd_, name.c_str(), RENAME_NOREPLACE) < 0)
        return errno;
    armed_ = false;
    return 0;
}

void NewSubvolume::commit(const std::string& name, const std::string& what)
{
    if (int err = try_commit(name))
        throw_errno(err, what);
}

void NewSubvolume::exchange(const std::string& name, const std::string& what)
{
    if (::renameat2(dirfd_, tmp_.c_str(), dirfd_, name.c_str(), RENAME_EXCHANGE) < 0)
        throw_errno(what);
}

void NewSubvolume::discard() noexcept
{
    if (!armed_)
        return;
    armed_ = false;
    try {
        delete_subvolume(dirfd_, tmp_.c_str(), recursive_, shown_);
    } catch (...) {
        // Left for the leftover clean-up at the next open; a destructor never throws.
    }
}

} // namespace buttervolume::btrfs
