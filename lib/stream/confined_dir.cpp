// SPDX-License-Identifier: Apache-2.0
// ConfinedDir: openat2-based path resolution for the receiver (btrfs-receive(8) BUGS: escapes).
#include "confined_dir.hpp"

#include "../base/sys.hpp"

#include <buttervolume/stream.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace buttervolume::stream {

namespace {

// glibc 2.36 has no openat2 wrapper.
int sys_openat2(int dirfd, const char* path, int flags)
{
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long r;
    do {
        r = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (r < 0 && errno == EAGAIN); // a concurrent rename elsewhere on the fs: retry
    return static_cast<int>(r);
}

std::string printable_path(std::string_view p)
{
    std::string out;
    for (char c : p) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out;
}

} // namespace

std::string Entry::proc_path() const
{
    return fmt::format("/proc/self/fd/{}/{}", dir, name);
}

void ConfinedDir::check_path(std::string_view path)
{
    auto refuse = [&](std::string_view why) {
        throw StreamError(fmt::format("send stream: refusing path '{}': {}", printable_path(path), why), EPERM);
    };
    if (path.size() >= PATH_MAX)
        refuse("too long");
    if (path.find('\0') != std::string_view::npos)
        refuse("contains a NUL byte");
    if (path.empty())
        return;
    if (path.front() == '/')
        refuse("absolute paths are not allowed");
    std::size_t start = 0;
    for (;;) {
        std::size_t slash = path.find('/', start);
        std::string_view comp = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (comp.empty())
            refuse("empty component");
        if (comp == "." || comp == "..")
            refuse("'.' and '..' are not allowed");
        if (comp.size() > NAME_MAX)
            refuse("component too long");
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
}

UniqueFd ConfinedDir::resolve(std::string_view path, int flags) const
{
    std::string p(path);
    int fd = sys_openat2(root_, p.c_str(), flags);
    if (fd < 0) {
        int err = errno;
        if (err == ELOOP || err == EXDEV)
            throw StreamError(fmt::format("send stream: path '{}' leads through a symlink or out of '{}'",
                                          printable_path(path), shown_),
                              EPERM);
        throw_errno(err, fmt::format("resolve '{}' in '{}'", printable_path(path), shown_));
    }
    return UniqueFd(fd);
}

Entry ConfinedDir::entry(std::string_view path) const
{
    check_path(path);
    Entry e;
    if (path.empty()) {
        e.dir = root_;
        e.name.assign(1, '.'); // not = ".": GCC 12 warns falsely (-Wrestrict)
        return e;
    }
    std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) {
        e.dir = root_;
        e.name = std::string(path);
        return e;
    }
    e.owned = resolve(path.substr(0, slash), O_PATH | O_DIRECTORY);
    e.dir = e.owned.get();
    e.name = std::string(path.substr(slash + 1));
    return e;
}

UniqueFd ConfinedDir::open_file(std::string_view path, int flags, bool allow_dir) const
{
    check_path(path);
    UniqueFd o = resolve(path.empty() ? std::string_view(".") : path, O_PATH);
    struct stat st;
    if (::fstat(o.get(), &st) < 0)
        throw_errno(fmt::format("stat '{}'", printable_path(path)));
    if (!S_ISREG(st.st_mode) && !(allow_dir && S_ISDIR(st.st_mode)))
        throw StreamError(fmt::format("send stream: '{}' is not a regular file", printable_path(path)), EPERM);
    // Reopen the very inode we checked: through /proc the O_PATH fd cannot be swapped for
    // another file by a rename in between.
    std::string proc = fmt::format("/proc/self/fd/{}", o.get());
    int fd = ::open(proc.c_str(), flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw_errno(fmt::format("open '{}' in '{}'", printable_path(path), shown_));
    return UniqueFd(fd);
}

} // namespace buttervolume::stream
