// SPDX-License-Identifier: Apache-2.0
// VolumeLock: one lock per volume name, across threads and processes (flock on state/locks/<name>).
#pragma once

#include "base/unique_fd.hpp"

#include <string>
#include <string_view>

namespace buttervolume {

/// An exclusive lock on one volume name, held until destruction. The lock file is never
/// removed: unlinking it would let two holders lock different inodes of the same name.
class VolumeLock {
public:
    /// Blocks until the lock on name is held. locks_dirfd is the pool's state/locks directory.
    VolumeLock(int locks_dirfd, std::string_view name);

    /// Takes the lock only if it is free; check with held().
    static VolumeLock try_lock(int locks_dirfd, std::string_view name);

    bool held() const { return static_cast<bool>(fd_); }

private:
    VolumeLock() = default;
    UniqueFd fd_;
};

} // namespace buttervolume
