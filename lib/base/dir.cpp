// SPDX-License-Identifier: Apache-2.0
// Dir and for_each_entry: the one directory-listing loop, and file work relative to a directory fd.
#include "base/dir.hpp"

#include "base/sys.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace buttervolume {

void for_each_entry(int dirfd, std::string_view shown, const EntryFn& fn)
{
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw_errno(fmt::format("list '{}'", shown));
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        int err = errno;
        ::close(fd);
        throw_errno(err, fmt::format("list '{}'", shown));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, ::closedir);
    for (;;) {
        // readdir returns NULL both at the end and on an error (EIO): only errno tells them
        // apart, and taking an error for the end would list, purge or count too little.
        errno = 0;
        struct dirent* e = ::readdir(dir);
        if (!e) {
            if (errno != 0)
                throw_errno(fmt::format("list '{}'", shown));
            return;
        }
        std::string_view name = e->d_name;
        if (name == "." || name == "..")
            continue;
        fn(name, e->d_type);
    }
}

Dir Dir::open(const std::filesystem::path& path, bool create)
{
    if (create)
        ensure_dir_at(AT_FDCWD, path.c_str(), path.native());
    return Dir(open_dir_at(AT_FDCWD, path.c_str(), path.native(), false), path);
}

Dir Dir::try_open(const std::filesystem::path& path)
{
    int fd = ::openat(AT_FDCWD, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return {};
        throw_errno(fmt::format("open '{}'", path.native()));
    }
    return Dir(UniqueFd(fd), path);
}

Dir Dir::sub(std::string_view name, bool create, unsigned mode) const
{
    const std::string n(name);
    if (create)
        ensure_dir_at(fd(), n.c_str(), path(name).native(), mode);
    return Dir(open_dir(name), path(name));
}

Dir Dir::try_sub(std::string_view name) const
{
    UniqueFd fd = try_open_dir(name);
    if (!fd)
        return {};
    return Dir(std::move(fd), path(name));
}

UniqueFd Dir::open_dir(std::string_view name) const
{
    return open_dir_at(fd(), std::string(name).c_str(), path(name).native());
}

UniqueFd Dir::try_open_dir(std::string_view name) const
{
    return try_open_dir_at(fd(), std::string(name).c_str(), path(name).native());
}

bool Dir::exists(std::string_view name) const
{
    return ::faccessat(fd(), std::string(name).c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

bool Dir::read_file(std::string_view name, std::string& out) const
{
    return read_file_at(fd(), std::string(name).c_str(), out);
}

void Dir::write_file(std::string_view name, std::string_view data, bool durable) const
{
    write_file_atomic(fd(), std::string(name), data, durable);
}

bool Dir::remove_file(std::string_view name) const
{
    if (::unlinkat(fd(), std::string(name).c_str(), 0) == 0)
        return true;
    if (errno == ENOENT)
        return false;
    throw_errno(fmt::format("remove '{}'", path(name).native()));
}

} // namespace buttervolume
