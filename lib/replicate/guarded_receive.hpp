// SPDX-License-Identifier: Apache-2.0
// Receiving exactly one snapshot "<volume>@<timestamp>" into a pool, checked before any byte
// lands: its name, and what already has that name.
#pragma once

#include <buttervolume/pool.hpp>
#include <buttervolume/receive.hpp>
#include <buttervolume/snapshot.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace buttervolume::replication {

struct GuardedReceive {
    /// The snapshot's name ("<volume>@<timestamp>").
    std::string name;
    /// It was already here with the same received UUID: the stream was read and dropped.
    bool present = false;
    /// The input ended before any byte: the sender had nothing to send.
    bool empty = false;
    std::uint64_t bytes = 0;
};

/// Reads the stream's first command (its subvolume's name and UUID) from in_fd, passes the
/// parsed name to check (which throws to refuse it, e.g. another volume's, and may take the
/// volume's lock), then receives the whole stream with Pool::receive (which commits it under
/// the volume's lock and counts it). A name that exists
/// with the same received UUID is success (present); with other content, AlreadyExists.
/// A stream holding more than one subvolume is refused and nothing of it is kept.
/// Throws InvalidArgument (not a snapshot name), AlreadyExists, StreamError, Error (ENOSPC at
/// opts.min_free_percent).
GuardedReceive receive_one_snapshot(Pool& pool, int in_fd,
                                    const std::function<void(const SnapshotName&)>& check,
                                    const ReceiveOptions& opts = {});

} // namespace buttervolume::replication
