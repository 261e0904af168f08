// SPDX-License-Identifier: Apache-2.0
// The serve-ssh allow-list: SSH_ORIGINAL_COMMAND parsed into one of the few requests allowed.
#pragma once

#include <buttervolume/pool.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::replication {

enum class Verb {
    List,         ///< buttervolume serve-ssh list VOLUME
    Receive,      ///< buttervolume serve-ssh receive VOLUME (listing first, then one stream)
    Send,         ///< buttervolume serve-ssh send SNAPSHOT [PARENT]
    Rsync,        ///< rsync --server --sender -logDtprze<caps> . <volumes>/<volume>/ (sync's other end)
    BtrfsReceive, ///< btrfs receive <snapshots>  (a Python 3.13 sender)
    BtrfsDelete,  ///< btrfs subvolume delete <snapshots>/<volume>@<ts> [|| true]  (its fallback)
};

struct ServeRequest {
    Verb verb = Verb::List;
    std::string volume;
    std::string snapshot;
    std::optional<std::string> parent;
    /// For Rsync: the argv to run, rebuilt from the checked flags and path.
    std::vector<std::string> argv;
};

/// s with control characters escaped and cut to 200 bytes, to quote untrusted input.
std::string shown(std::string_view s);

/// Parses command against paths. Throws InvalidArgument with the reason for anything else:
/// an empty command (a shell), a character outside the allowed set, another program, a path
/// outside the pool, a name that is not "<volume>@<timestamp>", an rsync flag that sync does not
/// send (-s reading arguments from stdin, -L or -k following links, any long option).
ServeRequest parse_serve_command(std::string_view command, const PoolPaths& paths);

} // namespace buttervolume::replication
