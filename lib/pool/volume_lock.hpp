// SPDX-License-Identifier: Apache-2.0
// VolumeLock: one lock per volume name, across threads and processes (flock on state/locks/<name>).
#pragma once

#include "base/unique_fd.hpp"

#include <string>
#include <string_view>

namespace buttervolume {

/// An exclusive lock on one volume name, held until destruction. A lock file may be removed
/// only by a holder of its lock (see remove_file()); every locker checks, once it holds the
/// flock, that the name still refers to the file it locked, and starts again when not, so two
/// holders never lock different inodes of the same name.
class VolumeLock {
public:
    /// Blocks until the lock on name is held, creating the lock file when missing.
    /// locks_dirfd is the pool's state/locks directory.
    VolumeLock(int locks_dirfd, std::string_view name);

    /// Takes the lock only if it is free; check with held(). Creates the lock file.
    static VolumeLock try_lock(int locks_dirfd, std::string_view name);

    /// Takes the lock only if it is free and its file exists, opened read-only: for readers
    /// (which must work on a read-only pool and leave no file behind) and for clean-ups. Never
    /// throws: any failure is a lock not held.
    static VolumeLock try_lock_existing(int locks_dirfd, std::string_view name) noexcept;

    bool held() const { return static_cast<bool>(fd_); }

    /// Removes the lock file while the lock is held (the name is then free for a new file).
    /// False when that failed.
    bool remove_file() noexcept;

private:
    VolumeLock() = default;
    int dirfd_ = -1;
    std::string name_;
    UniqueFd fd_;
};

} // namespace buttervolume
