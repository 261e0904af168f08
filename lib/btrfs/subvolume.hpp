// SPDX-License-Identifier: Apache-2.0
// Subvolume operations over directory fds: the only place (with quota.cpp, attributes.cpp)
// that talks to btrfs. Every call is relative to an open directory; no path strings are rebuilt.
#pragma once

#include "base/unique_fd.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::btrfs {

using Uuid = std::array<std::uint8_t, 16>;

/// Canonical text form of a UUID (8-4-4-4-12 lower-case hex); empty for an all-zero UUID.
std::string uuid_to_string(const Uuid& uuid);

/// A subvolume's ROOT_ITEM as BTRFS_IOC_GET_SUBVOL_INFO reads it.
struct SubvolumeInfo {
    std::uint64_t id = 0;        ///< the tree id; 5 is the top level
    std::uint64_t parent_id = 0; ///< the subvolume it is linked in
    Uuid uuid{};
    Uuid parent_uuid{};   ///< of the subvolume this one is a snapshot of; zero for a new one
    Uuid received_uuid{}; ///< set by receive: the uuid the subvolume had on the sending side
    /// Transaction ids: of the root item's last update (generation), of the last change to the
    /// content (ctransid), of the creation (otransid); for a received subvolume, the sender's
    /// ctransid (stransid) and the receive's transaction (rtransid), 0 otherwise.
    std::uint64_t generation = 0, ctransid = 0, otransid = 0, stransid = 0, rtransid = 0;
    bool read_only = false;
    std::chrono::system_clock::time_point otime; ///< created
    std::chrono::system_clock::time_point ctime; ///< last changed
};

/// True when fd is on a btrfs filesystem.
bool is_btrfs(int fd);

/// True when fd is the root directory of a btrfs subvolume (inode 256 on btrfs).
bool is_subvolume(int fd);

/// True when fd is a directory with the subvolume root inode number, without checking the
/// filesystem type: for entries below a folder already known to be on btrfs. Throws Error when
/// fd cannot be looked at.
bool is_subvolume_root(int fd);

/// Same as is_subvolume, for dirfd/name, without following a symlink. False when it does not
/// exist; throws Error when it cannot be looked at (EIO).
bool is_subvolume_at(int dirfd, const char* name);

/// The subvolume info of the subvolume fd is the root of. `shown` names it in errors.
SubvolumeInfo subvolume_info(int fd, std::string_view shown);

/// Creates an empty subvolume dirfd/name.
void create_subvolume(int dirfd, const char* name, std::string_view shown);

/// Snapshots the subvolume at source_fd into dirfd/name.
void create_snapshot(int source_fd, int dirfd, const char* name, bool read_only, std::string_view shown);

/// Deletes the subvolume dirfd/name; recursive also deletes nested subvolumes first.
void delete_subvolume(int dirfd, const char* name, bool recursive, std::string_view shown);

/// Calls fn(name) for each entry of directory dirfd that is a subvolume's root, in no
/// particular order, from a few tree-search ioctls over that directory's own entries (no
/// call per entry, no allocation per name). False (and no call) when the caller lacks
/// CAP_SYS_ADMIN.
bool for_each_child_subvolume(int dirfd, std::string_view shown, const std::function<void(std::string_view)>& fn);

/// The names (not paths) of the subvolumes directly inside the subvolume dirfd belongs to, in
/// any of its directories, unsorted; nullopt when the caller lacks CAP_SYS_ADMIN.
std::optional<std::vector<std::string>> nested_subvolume_names(int dirfd, std::string_view shown);

/// Sets or clears the read-only flag of the subvolume at fd.
void set_read_only(int fd, bool read_only, std::string_view shown);

} // namespace buttervolume::btrfs
