// SPDX-License-Identifier: Apache-2.0
// Replication targets of each volume (state/replication/<volume>): which host got which
// snapshot last, so purge keeps the parent of the next incremental send.
#pragma once

#include <buttervolume/pool.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::replication {

struct TargetRecord {
    std::string host;
    std::string snapshot;
    std::chrono::system_clock::time_point when;
};

/// The records of volume (empty when none).
std::vector<TargetRecord> read_targets(const PoolPaths& paths, std::string_view volume);

/// Records that host now holds snapshot of volume (replacing the host's older record).
/// Called with the volume's lock held.
void record_target(const PoolPaths& paths, std::string_view volume, std::string_view host, std::string_view snapshot);

} // namespace buttervolume::replication
