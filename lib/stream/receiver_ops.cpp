// SPDX-License-Identifier: Apache-2.0
// Receiver::apply: each send stream command, one function per command family, as *at() system
// calls beneath the new subvolume.
#include "receiver_ops.hpp"

#include "../btrfs/receive.hpp"
#include "../base/sys.hpp"
#include "decompress.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace buttervolume::stream {

namespace {

// Largest unencoded extent we decompress: btrfs compresses at most 128 KiB per extent; the
// margin covers future kernels while bounding memory.
constexpr std::uint64_t max_unencoded = 1024 * 1024;

constexpr unsigned deferred_flags = FS_IMMUTABLE_FL | FS_APPEND_FL;
constexpr unsigned managed_flags =
    FS_NOCOW_FL | FS_NOCOMP_FL | FS_COMPR_FL | FS_SYNC_FL | FS_NODUMP_FL | FS_NOATIME_FL | FS_DIRSYNC_FL | deferred_flags;

std::string shown_path(std::string_view p)
{
    std::string out;
    for (char c : p.substr(0, 512)) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out.empty() ? std::string("/") : out;
}

void check_string(const Command& c, Attr a)
{
    auto s = c.string(a);
    if (s.empty() || s.find('\0') != std::string_view::npos)
        throw StreamError(fmt::format("send stream: {} command at offset {}: {} is empty or has a NUL byte",
                                      command_name(c.type()), c.offset(), attribute_name(static_cast<std::uint16_t>(a))));
}

struct timespec to_timespec(const Command& c, Attr a)
{
    Timespec t = c.timespec(a);
    if (t.nsec >= 1000000000u || t.sec > static_cast<std::uint64_t>(INT64_MAX))
        throw StreamError(fmt::format("send stream: {} command at offset {}: invalid time", command_name(c.type()),
                                      c.offset()));
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(t.sec);
    ts.tv_nsec = static_cast<long>(t.nsec);
    return ts;
}

std::uint64_t offset_attr(const Command& c, Attr a)
{
    std::uint64_t v = c.u64(a);
    if (v > static_cast<std::uint64_t>(INT64_MAX))
        throw StreamError(fmt::format("send stream: {} command at offset {}: {} out of range", command_name(c.type()),
                                      c.offset(), attribute_name(static_cast<std::uint16_t>(a))));
    return v;
}

void pwrite_all(int fd, const std::uint8_t* p, std::size_t len, std::uint64_t off, const std::function<void(int)>& fail)
{
    while (len > 0) {
        ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(errno);
        }
        p += n;
        len -= static_cast<std::size_t>(n);
        off += static_cast<std::uint64_t>(n);
    }
}

} // namespace

void Receiver::fail(const Command& c, std::string_view path, int err) const
{
    throw_errno(err, fmt::format("receive of '{}': {} '{}'", name_, command_name(c.type()), shown_path(path)));
}

void Receiver::apply(const Command& c)
{
    switch (c.cmd()) {
    case Cmd::Mkfile: case Cmd::Mkdir: case Cmd::Mknod: case Cmd::Mkfifo: case Cmd::Mksock: case Cmd::Symlink:
        return make_inode(c);
    case Cmd::Rename: case Cmd::Link: case Cmd::Unlink: case Cmd::Rmdir:
        return change_links(c);
    case Cmd::SetXattr: case Cmd::RemoveXattr:
        return change_xattr(c);
    case Cmd::Chmod: case Cmd::Chown: case Cmd::Utimes:
        return set_inode_attributes(c);
    case Cmd::Write: case Cmd::Truncate: case Cmd::Fallocate: case Cmd::UpdateExtent:
        return change_data(c);
    case Cmd::Clone: return clone(c);
    case Cmd::EncodedWrite: return encoded_write(c);
    case Cmd::Fileattr: return fileattr(c);
    case Cmd::EnableVerity: return enable_verity(c);
    default:
        throw StreamError(fmt::format("send stream: unknown command {} at offset {}: this receiver cannot apply it",
                                      c.type(), c.offset()),
                          EOPNOTSUPP);
    }
}

void Receiver::make_inode(const Command& c)
{
    auto p = c.string(Attr::Path);
    if (c.cmd() == Cmd::Symlink)
        check_string(c, Attr::PathLink);
    Entry e = dir_->entry(p);
    int r;
    switch (c.cmd()) {
    case Cmd::Mkfile: {
        // Kept open: the writes, owner, mode and times of the new file follow (after a rename
        // from its temporary name, which keep_write_fd's path follows too).
        int fd = ::openat(e.dir, e.name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            keep_write_fd(UniqueFd(fd), p);
        r = fd;
        break;
    }
    case Cmd::Mkdir: r = ::mkdirat(e.dir, e.name.c_str(), 0700); break;
    case Cmd::Symlink:
        // The target is stored, never followed: every later lookup refuses symlinks.
        r = ::symlinkat(std::string(c.string(Attr::PathLink)).c_str(), e.dir, e.name.c_str());
        break;
    default: {
        mode_t mode;
        dev_t rdev = 0;
        if (c.cmd() == Cmd::Mkfifo) {
            mode = S_IFIFO | 0600;
        } else if (c.cmd() == Cmd::Mksock) {
            mode = S_IFSOCK | 0600;
        } else {
            // Permissions come with the CHMOD that follows; only the type is taken here.
            mode = static_cast<mode_t>(c.u64(Attr::Mode) & S_IFMT);
            if (!S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode))
                throw StreamError(fmt::format("send stream: mknod of '{}' with file type {:o}", shown_path(p), mode));
            rdev = static_cast<dev_t>(c.u64(Attr::Rdev));
        }
        r = ::mknodat(e.dir, e.name.c_str(), mode, rdev);
    }
    }
    if (r < 0)
        fail(c, p, errno);
}

void Receiver::change_links(const Command& c)
{
    auto p = c.string(Attr::Path);
    int r;
    if (c.cmd() == Cmd::Rename) {
        auto to_path = c.string(Attr::PathTo);
        // The open file keeps its fd under its new name; any other rename may move or replace
        // it (a directory above it, a file onto its name), so the fd is dropped.
        bool follow = open_fd_of(p) >= 0;
        if (!follow)
            forget_write_fd();
        Entry from = dir_->entry(p);
        Entry to = dir_->entry(to_path);
        r = ::renameat(from.dir, from.name.c_str(), to.dir, to.name.c_str());
        if (r == 0 && follow)
            wpath_ = std::string(to_path);
    } else if (c.cmd() == Cmd::Link) {
        // PATH is the new name, PATH_LINK the existing file.
        Entry to = dir_->entry(p);
        Entry from = dir_->entry(c.string(Attr::PathLink));
        r = ::linkat(from.dir, from.name.c_str(), to.dir, to.name.c_str(), 0);
    } else {
        forget_write_fd();
        Entry e = dir_->entry(p);
        r = ::unlinkat(e.dir, e.name.c_str(), c.cmd() == Cmd::Rmdir ? AT_REMOVEDIR : 0);
    }
    if (r < 0)
        fail(c, p, errno);
}

void Receiver::change_xattr(const Command& c)
{
    auto p = c.string(Attr::Path);
    check_string(c, Attr::XattrName);
    std::string name(c.string(Attr::XattrName));
    Entry e = dir_->entry(p);
    // No *at() form exists; the parent is pinned by its fd and the l-variant does not
    // follow a symlink in the last component.
    std::string at = e.proc_path();
    int r;
    if (c.cmd() == Cmd::SetXattr) {
        auto v = c.bytes(Attr::XattrData);
        r = ::lsetxattr(at.c_str(), name.c_str(), v.data(), v.size(), 0);
    } else {
        r = ::lremovexattr(at.c_str(), name.c_str());
    }
    if (r < 0)
        fail(c, p, errno);
}

void Receiver::set_inode_attributes(const Command& c)
{
    auto p = c.string(Attr::Path);
    // The file being written is changed through its fd: no path lookup.
    int fd = open_fd_of(p);
    int r;
    if (c.cmd() == Cmd::Chmod) {
        auto mode = static_cast<mode_t>(c.u64(Attr::Mode) & 07777);
        if (fd >= 0) {
            r = ::fchmod(fd, mode);
        } else {
            Entry e = dir_->entry(p);
            // Never through a symlink (glibc refuses a symlink itself with EOPNOTSUPP).
            r = ::fchmodat(e.dir, e.name.c_str(), mode, AT_SYMLINK_NOFOLLOW);
        }
    } else if (c.cmd() == Cmd::Chown) {
        std::uint64_t uid = c.u64(Attr::Uid), gid = c.u64(Attr::Gid);
        if (uid > UINT32_MAX || gid > UINT32_MAX)
            throw StreamError(fmt::format("send stream: chown of '{}' to an id out of range", shown_path(p)));
        if (fd >= 0) {
            r = ::fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid));
        } else {
            Entry e = dir_->entry(p);
            r = ::fchownat(e.dir, e.name.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid), AT_SYMLINK_NOFOLLOW);
        }
    } else {
        struct timespec ts[2] = {to_timespec(c, Attr::Atime), to_timespec(c, Attr::Mtime)};
        if (fd >= 0) {
            r = ::futimens(fd, ts);
        } else {
            Entry e = dir_->entry(p);
            // ctime and otime cannot be set; they are not compared.
            r = ::utimensat(e.dir, e.name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        }
    }
    if (r < 0)
        fail(c, p, errno);
}

void Receiver::change_data(const Command& c)
{
    auto p = c.string(Attr::Path);
    if (c.cmd() == Cmd::UpdateExtent) {
        // Only in NO_FILE_DATA streams: the data is not there to apply.
        dir_->check_path(p);
        return;
    }
    int fd = file_for_write(p);
    if (c.cmd() == Cmd::Write) {
        auto data = c.bytes(Attr::Data);
        std::uint64_t off = offset_attr(c, Attr::FileOffset);
        charge_space(c, p, data.size());
        pwrite_all(fd, data.data(), data.size(), off, [&](int err) { fail(c, p, err); });
        behind_.written(fd, off, data.size());
        return;
    }
    int r;
    if (c.cmd() == Cmd::Truncate) {
        // A size, not an allocation: a sparse file of any length costs nothing.
        r = ::ftruncate(fd, static_cast<off_t>(offset_attr(c, Attr::Size)));
    } else {
        // A 178-byte stream once asked for 1.3 GB this way; a punched hole frees instead.
        auto mode = static_cast<int>(c.u32(Attr::FallocateMode));
        std::uint64_t size = offset_attr(c, Attr::Size);
        if (!(mode & FALLOC_FL_PUNCH_HOLE))
            charge_space(c, p, size);
        r = ::fallocate(fd, mode, static_cast<off_t>(offset_attr(c, Attr::FileOffset)), static_cast<off_t>(size));
    }
    if (r < 0)
        fail(c, p, errno);
}

void Receiver::clone(const Command& c)
{
    auto p = c.string(Attr::Path);
    int dst = file_for_write(p);
    Uuid src_uuid = c.uuid(Attr::CloneUuid);
    std::uint64_t src_off = offset_attr(c, Attr::CloneOffset);
    std::uint64_t len = c.u64(Attr::CloneLen);
    std::uint64_t dst_off = offset_attr(c, Attr::FileOffset);
    auto src_path = c.string(Attr::ClonePath);
    UniqueFd src;
    // A clone within the stream's own subvolume is resolved here, never by UUID lookup
    // (progs 01830680: an older received copy would be picked instead).
    if (src_uuid == uuid_) {
        src = dir_->open_file(src_path, O_RDONLY);
    } else {
        Found f = find_subvolume(src_uuid, c.u64(Attr::CloneCtransid), "clone source");
        ConfinedDir other(f.fd.get(), f.name);
        src = other.open_file(src_path, O_RDONLY);
    }
    if (int err = btrfs::clone_range(src.get(), src_off, len, dst, dst_off))
        fail(c, p, err);
}

void Receiver::encoded_write(const Command& c)
{
    auto p = c.string(Attr::Path);
    int fd = file_for_write(p);
    btrfs::EncodedWrite w;
    w.data = c.bytes(Attr::Data);
    w.offset = offset_attr(c, Attr::FileOffset);
    w.unencoded_file_len = c.u64(Attr::UnencodedFileLen);
    w.unencoded_len = c.u64(Attr::UnencodedLen);
    w.unencoded_offset = c.u64(Attr::UnencodedOffset);
    w.compression = c.has(Attr::Compression) ? c.u32(Attr::Compression) : 0;
    w.encryption = c.has(Attr::Encryption) ? c.u32(Attr::Encryption) : 0;
    if (w.encryption != 0)
        throw Error(EOPNOTSUPP, fmt::format("receive of '{}': encrypted extent in '{}' is not supported", name_, shown_path(p)));
    if (w.unencoded_len > max_unencoded || w.unencoded_offset > w.unencoded_len ||
        w.unencoded_file_len > w.unencoded_len - w.unencoded_offset)
        throw StreamError(fmt::format("send stream: encoded write to '{}' at offset {}: inconsistent lengths",
                                      shown_path(p), c.offset()));
    std::uint64_t charged = 0;
    if (!opts_.decompress && w.compression != 0) {
        charge_space(c, p, charged = w.data.size());
        int err = btrfs::encoded_write(fd, w);
        if (err == 0)
            return;
        // progs falls back on these (the filesystem or the range cannot take the extent as is).
        if (err != ENOSPC && err != ENOTTY && err != EINVAL && err != EOPNOTSUPP)
            fail(c, p, err);
    }
    if (w.unencoded_file_len > charged)
        charge_space(c, p, w.unencoded_file_len - charged);
    std::vector<std::uint8_t> buf(w.unencoded_len);
    decompress_extent(w.compression, w.data, buf);
    pwrite_all(fd, buf.data() + w.unencoded_offset, w.unencoded_file_len, w.offset, [&](int err) { fail(c, p, err); });
    behind_.written(fd, w.offset, w.unencoded_file_len);
}

void Receiver::fileattr(const Command& c)
{
    auto p = c.string(Attr::Path);
    unsigned want = btrfs::inode_flags_to_fs_flags(c.u64(Attr::Fileattr));
    UniqueFd fd = dir_->open_file(p, O_RDONLY | O_NONBLOCK, true);
    int cur = 0;
    if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &cur) < 0)
        fail(c, p, errno);
    unsigned now = (static_cast<unsigned>(cur) & ~managed_flags) | (want & managed_flags & ~deferred_flags);
    int arg = static_cast<int>(now);
    // "Where it can be applied": NOCOW on a file with data, or a flag this filesystem does not
    // know, is refused by the kernel; the data itself is still right.
    if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &arg) < 0 && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOTTY)
        fail(c, p, errno);
    if (want & deferred_flags)
        deferred_.emplace_back(std::move(fd), want & deferred_flags);
}

// Checked before the allocation, so the floor is never crossed, not even for one command.
void Receiver::charge_space(const Command& c, std::string_view path, std::uint64_t bytes)
{
    if (!space_.charge(bytes))
        throw_errno(ENOSPC, fmt::format("receive of '{}' stopped at offset {} ('{}'), nothing kept: {}", name_,
                                        c.offset(), shown_path(path), space_.refusal(bytes)));
}

void Receiver::apply_deferred_flags()
{
    for (auto& [fd, flags] : deferred_) {
        int cur = 0;
        if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &cur) < 0)
            throw_errno(fmt::format("receive of '{}': read file flags", name_));
        int arg = cur | static_cast<int>(flags);
        if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &arg) < 0)
            throw_errno(fmt::format("receive of '{}': set immutable/append flags", name_));
    }
    deferred_.clear();
}

void Receiver::enable_verity(const Command& c)
{
    auto p = c.string(Attr::Path);
    // FS_IOC_ENABLE_VERITY fails with ETXTBSY while the file is open for writing.
    forget_write_fd();
    behind_.drain();
    UniqueFd fd = dir_->open_file(p, O_RDONLY);
    struct fsverity_enable_arg a;
    std::memset(&a, 0, sizeof a);
    a.version = 1;
    a.hash_algorithm = c.u8(Attr::VerityAlgorithm);
    a.block_size = c.u32(Attr::VerityBlockSize);
    if (c.has(Attr::VeritySaltData)) {
        auto s = c.bytes(Attr::VeritySaltData);
        a.salt_size = static_cast<__u32>(s.size());
        a.salt_ptr = reinterpret_cast<std::uintptr_t>(s.data());
    }
    if (c.has(Attr::VeritySigData)) {
        auto s = c.bytes(Attr::VeritySigData);
        a.sig_size = static_cast<__u32>(s.size());
        a.sig_ptr = reinterpret_cast<std::uintptr_t>(s.data());
    }
    if (::ioctl(fd.get(), FS_IOC_ENABLE_VERITY, &a) < 0)
        fail(c, p, errno);
}

} // namespace buttervolume::stream
