// SPDX-License-Identifier: Apache-2.0
// The Python protocol, for remotes without serve-ssh: btrfs receive over ssh, local traces.
#pragma once

#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <string_view>

namespace buttervolume::replication {

/// Sends snapshot to a Python buttervolume node: the stream goes to "btrfs receive <path>"
/// there (settings.remote_path, else our snapshots path), incremental against the snapshot of
/// the newest local trace "<volume>@<ts>@<host>"; after success a new trace replaces the
/// older ones of that host. An incremental failure is retried once in full; nothing remote is
/// ever deleted. Called with the volume's lock held. Throws Error.
ReplicateResult legacy_send(Pool& pool, std::string_view snapshot, const Remote& remote,
                            const ReplicateOptions& opts, ReplicateResult result);

} // namespace buttervolume::replication
