// SPDX-License-Identifier: Apache-2.0
// NewSubvolume: a subvolume built under a hidden temporary name, then renamed into place whole.
#pragma once

#include "base/unique_fd.hpp"

#include <string>
#include <string_view>

namespace buttervolume::btrfs {

/// The one way this library makes a subvolume appear (a created volume, a clone, the copy a
/// restore swaps in, a received snapshot): it is built under a hidden temporary name in its
/// directory, and either renamed into place with renameat2 (NOREPLACE, or EXCHANGE with what is
/// there) or deleted when this object goes away first. A process killed in between leaves the
/// temporary name, which the owner of the directory removes when it next opens it.
class NewSubvolume {
public:
    /// An empty subvolume dirfd/tmp_name. shown: the final path, for messages. recursive:
    /// delete nested subvolumes too when discarding (volumes may hold a container's own).
    static NewSubvolume create(int dirfd, std::string tmp_name, std::string shown, bool recursive = true);
    /// A writable snapshot of the subvolume source_fd, at dirfd/tmp_name.
    static NewSubvolume snapshot_of(int source_fd, int dirfd, std::string tmp_name, std::string shown,
                                    bool recursive = true);

    NewSubvolume(NewSubvolume&& other) noexcept;
    NewSubvolume& operator=(NewSubvolume&&) = delete;
    NewSubvolume(const NewSubvolume&) = delete;
    NewSubvolume& operator=(const NewSubvolume&) = delete;
    /// Discards the subvolume unless it was committed.
    ~NewSubvolume();

    const std::string& tmp_name() const { return tmp_; }
    int dirfd() const { return dirfd_; }
    /// Opens the subvolume's root. Throws Error.
    UniqueFd open() const;

    /// renameat2(RENAME_NOREPLACE) to name; 0 on success (nothing is left to discard), else the
    /// errno (EEXIST when name is taken), the subvolume still held.
    [[nodiscard]] int try_commit(const std::string& name);
    /// Same, throwing what throw_errno throws for the errno ("<what>: <strerror>").
    void commit(const std::string& name, const std::string& what);
    /// renameat2(RENAME_EXCHANGE) with the existing entry name: name holds the new content at
    /// once, and this object the previous one, which it deletes when discarded. Throws Error.
    void exchange(const std::string& name, const std::string& what);

    /// Deletes the subvolume now; a failure is ignored (the leftover is removed at the next open).
    void discard() noexcept;

private:
    NewSubvolume(int dirfd, std::string tmp, std::string shown, bool recursive);

    int dirfd_ = -1;
    std::string tmp_;
    std::string shown_;
    bool recursive_ = true;
    bool armed_ = false;
};

} // namespace buttervolume::btrfs
