// SPDX-License-Identifier: Apache-2.0
// BTRFS_IOC_SEND and what a sender needs to know about the kernel (protocol version, fs id).
#pragma once

#include "subvolume.hpp"

#include <cstdint>
#include <span>

namespace buttervolume::btrfs {

/// The highest send protocol the running kernel supports (sysfs send_stream_version; 1 when
/// the file is missing, as on kernels before 5.19).
std::uint32_t kernel_send_version();

/// The filesystem UUID of the btrfs filesystem fd is on (BTRFS_IOC_FS_INFO). Throws Error.
Uuid filesystem_uuid(int fd, std::string_view shown);

struct SendArgs {
    std::uint64_t parent_root = 0;              ///< 0: full send
    std::span<const std::uint64_t> clone_roots; ///< root ids the receiver also has
    std::uint32_t version = 0;                  ///< 0: v1 (the kernel's default without a version)
    bool compressed = false;                    ///< pass compressed extents through (v2+)
};

/// Runs BTRFS_IOC_SEND of the read-only subvolume subvol_fd into out_fd; blocks until the whole
/// stream is written. Returns 0 or the errno of the ioctl (it does not throw: the caller
/// combines this with the errors of whoever drains out_fd).
int send_ioctl(int subvol_fd, int out_fd, const SendArgs& args);

} // namespace buttervolume::btrfs
