// SPDX-License-Identifier: Apache-2.0
// The serve-ssh listing: what a pool holds of one volume, as text lines both ends agree on.
#pragma once

#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace buttervolume::replication {

/// The first line of every serve-ssh answer: tells a serve-ssh remote from anything else.
inline constexpr std::string_view protocol_line = "buttervolume-serve-ssh 1";

/// A remote pool's answer to "list" (and the start of its answer to "receive").
struct Listing {
    std::filesystem::path volumes;
    std::filesystem::path snapshots;
    std::vector<RemoteSnapshot> items;
};

/// The snapshots of volume in pool, oldest first, with their transids.
std::vector<RemoteSnapshot> local_snapshots(const Pool& pool, std::string_view volume);

/// The listing as text: the protocol line, "volumes\tPATH", "snapshots\tPATH", one
/// "snapshot\tNAME\tUUID\tRECEIVED\tPARENT\tCTRANSID\tCREATED" line each ("-" for an empty
/// UUID, CREATED in seconds since the epoch), then "end".
std::string format_listing(const PoolPaths& paths, const std::vector<RemoteSnapshot>& items);

/// Reads a listing from fd up to its "end" line. Throws Error (EPROTO) for anything else;
/// first_line receives the first line read (to tell a legacy remote's answer).
Listing read_listing(int fd, std::string& first_line);

} // namespace buttervolume::replication
