// SPDX-License-Identifier: Apache-2.0
// The receiver's interface to whoever owns the destination (a pool, or a plain directory).
#pragma once

#include "../btrfs/new_subvolume.hpp"

#include <buttervolume/receive.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::stream {

/// Hidden prefix of a subvolume being received: ".recv.<pid>.<random>".
inline constexpr std::string_view receive_tmp_prefix = ".recv.";

/// Where a receive puts each complete subvolume. The default renames it into place; a pool's
/// import locks the snapshot's volume and keeps its records around the rename.
class ReceiveTarget {
public:
    virtual ~ReceiveTarget() = default;
    /// Renames the complete, read-only, checked subvolume sub to name in the destination.
    /// what: the message prefix for a failure. Throws AlreadyExists (the name is taken), Error.
    virtual void commit(btrfs::NewSubvolume& sub, const std::string& name, const std::string& what);
};

/// receive_stream into the open directory dest_fd (on btrfs, shown as dest_shown), each
/// subvolume committed through target.
std::vector<ReceivedSnapshot> receive_into(StreamReader& reader, int dest_fd, const std::string& dest_shown,
                                           const ReceiveOptions& opts, ReceiveTarget& target);

/// Deletes the temporary subvolumes (".recv.<pid>.*") that killed receives left in dirfd; one
/// whose receive is still at work (it holds a flock on its root) is left alone.
void remove_stale_receives(int dirfd);

} // namespace buttervolume::stream
