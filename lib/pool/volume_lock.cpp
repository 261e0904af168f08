// SPDX-License-Identifier: Apache-2.0
// flock(2)-based volume locks. Each lock opens its own file description, so two threads of
// one process exclude each other just as two processes do.
#include "pool/volume_lock.hpp"

#include "base/sys.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <string>

namespace buttervolume {

namespace {
UniqueFd open_lock_file(int locks_dirfd, std::string_view name)
{
    std::string file(name);
    return open_at(locks_dirfd, file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW, fmt::format("state/locks/{}", name));
}
} // namespace

VolumeLock::VolumeLock(int locks_dirfd, std::string_view name) : fd_(open_lock_file(locks_dirfd, name))
{
    while (::flock(fd_.get(), LOCK_EX) < 0) {
        if (errno != EINTR)
            throw_errno(fmt::format("lock volume '{}'", name));
    }
}

VolumeLock VolumeLock::try_lock(int locks_dirfd, std::string_view name)
{
    VolumeLock lock;
    UniqueFd fd = open_lock_file(locks_dirfd, name);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
        lock.fd_ = std::move(fd);
    else if (errno != EWOULDBLOCK)
        throw_errno(fmt::format("lock volume '{}'", name));
    return lock;
}

} // namespace buttervolume
