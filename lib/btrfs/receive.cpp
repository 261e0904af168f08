// SPDX-License-Identifier: Apache-2.0
// Receiver ioctls over the raw UAPI: SET_RECEIVED_SUBVOL, TREE_SEARCH of the UUID tree,
// FICLONERANGE, ENCODED_WRITE, and the inode flag translation for FILEATTR.
#include "receive.hpp"

#include "base/sys.hpp"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace buttervolume::btrfs {

namespace {

std::uint64_t le64_of(const std::uint8_t* p)
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = v << 8 | p[i];
    return v;
}

// BTRFS_INODE_* are kernel-internal (fs/btrfs/btrfs_inode.h); the send stream carries them as is.
constexpr std::uint64_t inode_nodatacow = 1u << 1;
constexpr std::uint64_t inode_nocompress = 1u << 3;
constexpr std::uint64_t inode_sync = 1u << 5;
constexpr std::uint64_t inode_immutable = 1u << 6;
constexpr std::uint64_t inode_append = 1u << 7;
constexpr std::uint64_t inode_nodump = 1u << 8;
constexpr std::uint64_t inode_noatime = 1u << 9;
constexpr std::uint64_t inode_dirsync = 1u << 10;
constexpr std::uint64_t inode_compress = 1u << 11;

} // namespace

void set_received_subvol(int fd, const Uuid& uuid, std::uint64_t stransid, std::string_view shown)
{
    struct btrfs_ioctl_received_subvol_args args;
    std::memset(&args, 0, sizeof args);
    std::memcpy(args.uuid, uuid.data(), uuid.size());
    args.stransid = stransid;
    if (::ioctl(fd, BTRFS_IOC_SET_RECEIVED_SUBVOL, &args) < 0)
        throw_errno(fmt::format("mark '{}' as received", shown));
}

std::vector<std::uint64_t> lookup_uuid(int fd, const Uuid& uuid, bool received)
{
    struct btrfs_ioctl_search_args args;
    std::memset(&args, 0, sizeof args);
    auto& k = args.key;
    k.tree_id = BTRFS_UUID_TREE_OBJECTID;
    // The UUID tree keys a uuid as objectid = bytes 0-7, offset = bytes 8-15 (little-endian).
    k.min_objectid = k.max_objectid = le64_of(uuid.data());
    k.min_offset = k.max_offset = le64_of(uuid.data() + 8);
    k.min_type = k.max_type = received ? BTRFS_UUID_KEY_RECEIVED_SUBVOL : BTRFS_UUID_KEY_SUBVOL;
    k.max_transid = ~0ULL;
    k.nr_items = 16;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0)
        throw_errno("search the UUID tree");
    std::vector<std::uint64_t> ids;
    std::size_t off = 0;
    for (std::uint32_t i = 0; i < k.nr_items; ++i) {
        if (off + sizeof(btrfs_ioctl_search_header) > sizeof args.buf)
            break;
        btrfs_ioctl_search_header h;
        std::memcpy(&h, args.buf + off, sizeof h);
        off += sizeof h;
        if (off + h.len > sizeof args.buf)
            break;
        // An item holds the le64 root ids of every subvolume with that uuid.
        for (std::uint32_t j = 0; j + 8 <= h.len; j += 8)
            ids.push_back(le64_of(reinterpret_cast<const std::uint8_t*>(args.buf + off + j)));
        off += h.len;
    }
    return ids;
}

std::uint64_t subvolume_id(int fd, std::string_view shown)
{
    struct btrfs_ioctl_ino_lookup_args args;
    std::memset(&args, 0, sizeof args);
    args.objectid = BTRFS_FIRST_FREE_OBJECTID;
    if (::ioctl(fd, BTRFS_IOC_INO_LOOKUP, &args) < 0)
        throw_errno(fmt::format("read the subvolume id of '{}'", shown));
    return args.treeid;
}

int clone_range(int src_fd, std::uint64_t src_off, std::uint64_t len, int dst_fd, std::uint64_t dst_off)
{
    struct file_clone_range r;
    r.src_fd = src_fd;
    r.src_offset = src_off;
    r.src_length = len;
    r.dest_offset = dst_off;
    return ::ioctl(dst_fd, FICLONERANGE, &r) < 0 ? errno : 0;
}

int encoded_write(int fd, const EncodedWrite& w)
{
    struct iovec iov;
    iov.iov_base = const_cast<std::uint8_t*>(w.data.data());
    iov.iov_len = w.data.size();
    struct btrfs_ioctl_encoded_io_args args;
    std::memset(&args, 0, sizeof args);
    args.iov = &iov;
    args.iovcnt = 1;
    args.offset = static_cast<__s64>(w.offset);
    args.len = w.unencoded_file_len;
    args.unencoded_len = w.unencoded_len;
    args.unencoded_offset = w.unencoded_offset;
    args.compression = w.compression;
    args.encryption = w.encryption;
    // The ioctl returns the number of bytes written, like pwrite.
    return ::ioctl(fd, BTRFS_IOC_ENCODED_WRITE, &args) < 0 ? errno : 0;
}

unsigned inode_flags_to_fs_flags(std::uint64_t f)
{
    unsigned out = 0;
    if (f & inode_nodatacow)
        out |= FS_NOCOW_FL;
    if (f & inode_nocompress)
        out |= FS_NOCOMP_FL;
    if (f & inode_compress)
        out |= FS_COMPR_FL;
    if (f & inode_sync)
        out |= FS_SYNC_FL;
    if (f & inode_immutable)
        out |= FS_IMMUTABLE_FL;
    if (f & inode_append)
        out |= FS_APPEND_FL;
    if (f & inode_nodump)
        out |= FS_NODUMP_FL;
    if (f & inode_noatime)
        out |= FS_NOATIME_FL;
    if (f & inode_dirsync)
        out |= FS_DIRSYNC_FL;
    return out;
}

} // namespace buttervolume::btrfs
