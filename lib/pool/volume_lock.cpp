// SPDX-License-Identifier: Apache-2.0
// flock(2)-based volume locks. Each lock opens its own file description, so two threads of
// one process exclude each other just as two processes do.
#include "pool/volume_lock.hpp"

#include "base/sys.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace buttervolume {

namespace {

// Whether dirfd/name is still the file fd has open: a holder of the lock may have removed it
// (a lock file of a name that is no volume) between our open and our flock.
bool still_linked(int dirfd, const std::string& name, int fd)
{
    struct stat by_name, by_fd;
    if (::fstatat(dirfd, name.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) < 0 || ::fstat(fd, &by_fd) < 0)
        return false;
    return by_name.st_ino == by_fd.st_ino && by_name.st_dev == by_fd.st_dev;
}

int flock_retrying(int fd, int op)
{
    int rc;
    while ((rc = ::flock(fd, op)) < 0 && errno == EINTR) {
    }
    return rc;
}

} // namespace

VolumeLock::VolumeLock(int locks_dirfd, std::string_view name) : dirfd_(locks_dirfd), name_(name)
{
    const std::string shown = fmt::format("state/locks/{}", name);
    for (;;) {
        UniqueFd fd = open_at(locks_dirfd, name_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW, shown);
        if (flock_retrying(fd.get(), LOCK_EX) < 0)
            throw_errno(fmt::format("lock volume '{}'", name));
        if (still_linked(locks_dirfd, name_, fd.get())) {
            fd_ = std::move(fd);
            return;
        }
    }
}

VolumeLock VolumeLock::try_lock(int locks_dirfd, std::string_view name)
{
    VolumeLock lock;
    lock.dirfd_ = locks_dirfd;
    lock.name_ = name;
    for (;;) {
        UniqueFd fd = open_at(locks_dirfd, lock.name_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW,
                              fmt::format("state/locks/{}", name));
        if (flock_retrying(fd.get(), LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK)
                throw_errno(fmt::format("lock volume '{}'", name));
            return lock;
        }
        if (still_linked(locks_dirfd, lock.name_, fd.get())) {
            lock.fd_ = std::move(fd);
            return lock;
        }
    }
}

VolumeLock VolumeLock::try_lock_existing(int locks_dirfd, std::string_view name) noexcept
{
    VolumeLock lock;
    try {
        lock.dirfd_ = locks_dirfd;
        lock.name_ = name;
        // flock needs no write access: a read-only descriptor locks as well.
        UniqueFd fd(::openat(locks_dirfd, lock.name_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd && flock_retrying(fd.get(), LOCK_EX | LOCK_NB) == 0 && still_linked(locks_dirfd, lock.name_, fd.get()))
            lock.fd_ = std::move(fd);
    } catch (...) {
    }
    return lock;
}

bool VolumeLock::remove_file() noexcept
{
    return fd_ && ::unlinkat(dirfd_, name_.c_str(), 0) == 0;
}

} // namespace buttervolume
