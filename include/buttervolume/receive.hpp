// SPDX-License-Identifier: Apache-2.0
// Receiving a btrfs send stream natively: confined to the subvolume being built, atomic.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/stream.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace buttervolume {

struct BV_EXPORT ReceiveOptions {
    /// Bytes and commands applied so far (called on the receiving thread).
    ProgressCallback progress;
    /// Polled between commands and when a read is interrupted by a signal: returning true
    /// abandons the receive (Error with ECANCELED; nothing is left behind).
    std::function<bool()> cancel;
    /// Never pass compressed extents through BTRFS_IOC_ENCODED_WRITE: decompress and write
    /// them (what happens anyway when the ioctl is refused).
    bool decompress = false;
    /// Start the write-out of received data while receiving (sync_file_range on a second
    /// thread) instead of leaving it all dirty for a later sync: the data reaches the disk
    /// sooner and a receive followed by a sync takes less time, but the receive itself returns
    /// later (its final commit waits for the write-out in flight). Replication over ssh turns it
    /// off: there the time until the command returns is what is compared (BENCHMARKS.md).
    bool write_behind = true;
    /// Accept exactly one subvolume: a stream that goes on after it (a second subvolume, another
    /// stream after its END) is refused and nothing is kept, as the one subvolume is committed
    /// only once the input has ended.
    bool one_subvolume = false;
    /// Stop the receive (Error with ENOSPC; nothing is left behind) before what it writes would
    /// take the destination's free space under this percentage of its filesystem; 0: no floor.
    /// Data written and space fallocated count; sparse sizes, holes and clones allocate nothing.
    double min_free_percent = 0;
};

/// One subvolume received.
struct BV_EXPORT ReceivedSnapshot {
    std::string name;               ///< its name in the destination directory
    std::filesystem::path path;     ///< destination / name
    std::string received_uuid;      ///< the sender's UUID of it (text form)
    std::string parent;             ///< for an incremental stream: the name of the local parent
};

/// Applies the send stream read from in_fd (v1 to v3, one or several subvolumes back to back)
/// into dest_dir, a directory on btrfs (for a pool: its snapshots/ folder).
///
/// Each subvolume is built under a hidden temporary name, marked received
/// (SET_RECEIVED_SUBVOL), made read-only, checked, and only then renamed to its name: a
/// failed or cancelled receive leaves nothing of the subvolume it was building (when several
/// streams come back to back, the ones completed before are kept, and the error names them:
/// "... (received and kept before the failure: 2 snapshots: 'a@...', 'b@...')"). An
/// incremental stream's parent is found
/// by received UUID, then by UUID, among the subvolumes in dest_dir, and its transid must match
/// the stream's. Clones may only come from the subvolume being received, its parent, or
/// read-only subvolumes in dest_dir. Every path is resolved beneath the new subvolume without
/// following symlinks.
///
/// Throws StreamError (malformed, truncated or hostile stream), NotFound (no parent),
/// AlreadyExists (the name is taken), Error (a system call failed, or cancelled).
BV_EXPORT std::vector<ReceivedSnapshot> receive_stream(int in_fd, const std::filesystem::path& dest_dir,
                                                       const ReceiveOptions& opts = {});

/// Same, from a reader (for streams in memory).
BV_EXPORT std::vector<ReceivedSnapshot> receive_stream(stream::StreamReader& reader,
                                                       const std::filesystem::path& dest_dir,
                                                       const ReceiveOptions& opts = {});

} // namespace buttervolume
