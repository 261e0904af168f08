// SPDX-License-Identifier: Apache-2.0
// Subvolume create, snapshot, delete and info, over libbtrfsutil's *_fd calls (API 1.2 names).
#include "subvolume.hpp"

#include "base/sys.hpp"

#include <btrfsutil.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>

namespace buttervolume::btrfs {

namespace {
// libbtrfsutil returns its own code for the failed step and leaves the cause in errno.
[[noreturn]] void throw_util(btrfs_util_error err, const std::string& what)
{
    int saved = errno;
    if (saved == 0)
        throw Error(EIO, fmt::format("{}: {}", what, btrfs_util_strerror(err)));
    throw_errno(saved, what);
}

std::chrono::system_clock::time_point to_time_point(const struct btrfs_ioctl_timespec& ts)
{
    return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(ts.sec) + std::chrono::nanoseconds(ts.nsec)));
}

Uuid to_uuid(const uint8_t (&raw)[16])
{
    Uuid out;
    std::copy(std::begin(raw), std::end(raw), out.begin());
    return out;
}

// The subvolume root directory always has this inode number on btrfs (BTRFS_FIRST_FREE_OBJECTID).
constexpr ino_t subvolume_root_ino = 256;
} // namespace

std::string uuid_to_string(const Uuid& uuid)
{
    bool zero = true;
    for (auto b : uuid)
        zero = zero && b == 0;
    if (zero)
        return {};
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < uuid.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s += '-';
        s += fmt::format("{:02x}", uuid[i]);
    }
    return s;
}

bool is_btrfs(int fd)
{
    struct statfs sfs;
    if (::fstatfs(fd, &sfs) < 0)
        throw_errno("statfs");
    return sfs.f_type == BTRFS_SUPER_MAGIC;
}

bool is_subvolume(int fd)
{
    struct stat st;
    if (::fstat(fd, &st) < 0)
        throw_errno("stat");
    return S_ISDIR(st.st_mode) && st.st_ino == subvolume_root_ino && is_btrfs(fd);
}

bool is_subvolume_root(int fd)
{
    struct stat st;
    // A failed fstat is no "no": a purge would skip the snapshot and count too few (N2).
    if (::fstat(fd, &st) < 0)
        throw_errno("stat");
    return S_ISDIR(st.st_mode) && st.st_ino == subvolume_root_ino;
}

bool is_subvolume_at(int dirfd, const char* name)
{
    struct stat st;
    if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        // Absent is "no"; an I/O error is not an answer (a purge or listing must not go on as
        // if the snapshot were not there).
        if (errno == ENOENT || errno == ENOTDIR)
            return false;
        throw_errno(fmt::format("stat '{}'", name));
    }
    // The pool directory is on btrfs (checked when the pool is opened), and below it a
    // directory with inode 256 is a subvolume root.
    return S_ISDIR(st.st_mode) && st.st_ino == subvolume_root_ino;
}

SubvolumeInfo subvolume_info(int fd, std::string_view shown)
{
    // BTRFS_IOC_GET_SUBVOL_INFO (kernel 4.18+) answers in one ioctl. libbtrfsutil's
    // subvolume_info_fd costs four syscalls more per call (is-subvolume checks, INO_LOOKUP and,
    // as root, tree searches), which is what a listing of 10,000 volumes pays for.
    struct btrfs_ioctl_get_subvol_info_args raw = {};
    if (::ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, &raw) < 0)
        throw_errno(fmt::format("read subvolume info of '{}'", shown));
    SubvolumeInfo info;
    info.id = raw.treeid;
    info.parent_id = raw.parent_id;
    info.uuid = to_uuid(raw.uuid);
    info.parent_uuid = to_uuid(raw.parent_uuid);
    info.received_uuid = to_uuid(raw.received_uuid);
    info.generation = raw.generation;
    info.ctransid = raw.ctransid;
    info.otransid = raw.otransid;
    info.stransid = raw.stransid;
    info.rtransid = raw.rtransid;
    // flags holds the root item flags: BTRFS_ROOT_SUBVOL_RDONLY is bit 0 there,
    // not BTRFS_SUBVOL_RDONLY (bit 1) as in SUBVOL_GETFLAGS.
    info.read_only = (raw.flags & 1ULL) != 0;
    info.otime = to_time_point(raw.otime);
    info.ctime = to_time_point(raw.ctime);
    return info;
}

void create_subvolume(int dirfd, const char* name, std::string_view shown)
{
    errno = 0;
    auto err = btrfs_util_create_subvolume_fd(dirfd, name, 0, nullptr, nullptr);
    if (err != BTRFS_UTIL_OK)
        throw_util(err, fmt::format("create subvolume '{}'", shown));
}

void create_snapshot(int source_fd, int dirfd, const char* name, bool read_only, std::string_view shown)
{
    errno = 0;
    int flags = read_only ? BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY : 0;
    auto err = btrfs_util_create_snapshot_fd2(source_fd, dirfd, name, flags, nullptr, nullptr);
    if (err != BTRFS_UTIL_OK)
        throw_util(err, fmt::format("create snapshot '{}'", shown));
}

void delete_subvolume(int dirfd, const char* name, bool recursive, std::string_view shown)
{
    errno = 0;
    int flags = recursive ? BTRFS_UTIL_DELETE_SUBVOLUME_RECURSIVE : 0;
    auto err = btrfs_util_delete_subvolume_fd(dirfd, name, flags);
    if (err != BTRFS_UTIL_OK)
        throw_util(err, fmt::format("delete subvolume '{}'", shown));
}

void set_read_only(int fd, bool read_only, std::string_view shown)
{
    errno = 0;
    auto err = btrfs_util_set_subvolume_read_only_fd(fd, read_only);
    if (err != BTRFS_UTIL_OK)
        throw_util(err, fmt::format("set read-only={} on '{}'", read_only, shown));
}

} // namespace buttervolume::btrfs
