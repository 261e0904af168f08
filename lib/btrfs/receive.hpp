// SPDX-License-Identifier: Apache-2.0
// The ioctls a receiver needs beyond libbtrfsutil: set-received, UUID-tree lookup, clone, encoded write.
#pragma once

#include "subvolume.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace buttervolume::btrfs {

/// Marks the (still writable) subvolume at fd as received from uuid at stransid
/// (BTRFS_IOC_SET_RECEIVED_SUBVOL). Throws Error.
void set_received_subvol(int fd, const Uuid& uuid, std::uint64_t stransid, std::string_view shown);

/// Subvolume root ids recorded in the UUID tree for uuid: as their own UUID (received=false)
/// or as their received UUID (received=true). Needs CAP_SYS_ADMIN. Throws Error.
std::vector<std::uint64_t> lookup_uuid(int fd, const Uuid& uuid, bool received);

/// The root id of the subvolume containing fd (BTRFS_IOC_INO_LOOKUP). Throws Error.
std::uint64_t subvolume_id(int fd, std::string_view shown);

/// Clones len bytes (0: to the end) of src_fd at src_off into dst_fd at dst_off (FICLONERANGE).
/// Returns 0 or the errno.
int clone_range(int src_fd, std::uint64_t src_off, std::uint64_t len, int dst_fd, std::uint64_t dst_off);

struct EncodedWrite {
    std::span<const std::uint8_t> data;
    std::uint64_t offset = 0;
    std::uint64_t unencoded_file_len = 0;
    std::uint64_t unencoded_len = 0;
    std::uint64_t unencoded_offset = 0;
    std::uint32_t compression = 0;
    std::uint32_t encryption = 0;
};

/// BTRFS_IOC_ENCODED_WRITE: writes already-compressed data as an extent. Returns 0 or the errno.
int encoded_write(int fd, const EncodedWrite& w);

/// btrfs inode flags (BTRFS_INODE_*, as the FILEATTR command carries them) turned into the
/// FS_*_FL flags of FS_IOC_SETFLAGS; bits with no equivalent are dropped.
unsigned inode_flags_to_fs_flags(std::uint64_t btrfs_flags);

} // namespace buttervolume::btrfs
