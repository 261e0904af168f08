// SPDX-License-Identifier: Apache-2.0
// Thin wrappers over *at() system calls that throw buttervolume errors.
#include "base/sys.hpp"

#include "base/random.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace buttervolume {

UniqueFd open_at(int dirfd, const char* name, int flags, std::string_view shown)
{
    int fd = ::openat(dirfd, name, flags | O_CLOEXEC, 0644);
    if (fd < 0)
        throw_errno(fmt::format("open '{}'", shown));
    return UniqueFd(fd);
}

UniqueFd open_dir_at(int dirfd, const char* name, std::string_view shown, bool nofollow)
{
    return open_at(dirfd, name, O_RDONLY | O_DIRECTORY | (nofollow ? O_NOFOLLOW : 0), shown);
}

UniqueFd try_open_dir_at(int dirfd, const char* name, std::string_view shown)
{
    int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        // A symlink (O_NOFOLLOW with O_DIRECTORY: ENOTDIR; ELOOP without) or a file in a folder
        // of directories is not what the name means here: absent, as for every other lookup.
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return {};
        throw_errno(fmt::format("open '{}'", shown));
    }
    return UniqueFd(fd);
}

void ensure_dir_at(int dirfd, const char* name, std::string_view shown, unsigned mode)
{
    if (::mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
        throw_errno(fmt::format("create directory '{}'", shown));
}

void write_file_atomic(int dirfd, const std::string& name, std::string_view data, bool durable)
{
    std::string tmp = fmt::format(".{}.{}.tmp", name, random_suffix());
    UniqueFd fd = open_at(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL, tmp);
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            ::unlinkat(dirfd, tmp.c_str(), 0);
            throw_errno(err, fmt::format("write '{}'", name));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if ((durable && ::fsync(fd.get()) < 0) || ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) < 0) {
        int err = errno;
        ::unlinkat(dirfd, tmp.c_str(), 0);
        throw_errno(err, fmt::format("write '{}'", name));
    }
}

bool read_file_at(int dirfd, const char* name, std::string& out)
{
    int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return false;
        throw_errno(fmt::format("open '{}'", name));
    }
    UniqueFd owner(fd);
    out.clear();
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw_errno(fmt::format("read '{}'", name));
        }
        if (n == 0)
            return true;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

void widen_pipe(int fd)
{
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
        (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

} // namespace buttervolume
