// SPDX-License-Identifier: Apache-2.0
// Sending a read-only snapshot as a btrfs send stream to any file descriptor, natively.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/stream.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

namespace buttervolume {

struct BV_EXPORT SendOptions {
    /// Incremental against this read-only snapshot (which the receiver must already have).
    std::optional<std::filesystem::path> parent;
    /// Other read-only snapshots the receiver has, whose extents may be cloned instead of sent.
    std::vector<std::filesystem::path> clone_sources;
    /// Protocol version: 0 for the highest the kernel supports, or 1, 2, ...
    std::uint32_t protocol = 0;
    /// Pass compressed extents through as they are on disk (needs protocol 2 or later).
    bool compressed = false;
    /// Progress of the bytes written to the output (called from the draining thread).
    ProgressCallback progress;
};

/// Writes the send stream of the read-only snapshot at `snapshot` to out_fd (a pipe, socket or
/// file; not closed). The kernel produces the stream (BTRFS_IOC_SEND) into a pipe that another
/// thread drains into out_fd; SIGPIPE is blocked in both threads, so a reader that goes away
/// gives an Error (EPIPE), never a killed process. Returns the bytes written.
/// Throws InvalidArgument when a snapshot is not read-only, not a subvolume, on another
/// filesystem, or the protocol is not supported; NotFound; Error for a failure of either side
/// (the kernel's and the writer's causes in one message).
BV_EXPORT StreamProgress send_snapshot(const std::filesystem::path& snapshot, int out_fd,
                                       const SendOptions& opts = {});

} // namespace buttervolume
