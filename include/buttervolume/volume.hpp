// SPDX-License-Identifier: Apache-2.0
// Volume: what the library knows about one volume, read back from disk.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/options.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace buttervolume {

/// One volume (a btrfs subvolume under `volumes/`), with its options as read from disk.
struct BV_EXPORT Volume {
    std::string name;
    /// The subvolume's directory: the Docker Mountpoint.
    std::filesystem::path path;
    /// The subvolume's creation time (otime).
    std::chrono::system_clock::time_point created;
    /// The subvolume's UUID, canonical text form.
    std::string uuid;
    /// The btrfs subvolume (tree) id.
    std::uint64_t subvolume_id = 0;
    /// false when the volume root carries the no-copy-on-write attribute.
    bool copy_on_write = true;
    /// The compression property of the volume root, if set.
    std::optional<Compression> compression;
    /// The qgroup limit on referenced bytes, if set.
    std::optional<std::uint64_t> size_limit;
    /// Bytes referenced by the volume, when quotas are enabled on the filesystem.
    std::optional<std::uint64_t> size_used;
    /// For an ephemeral volume (option ephemeral=true), the source it is cloned from at each
    /// first mount: a volume or a "<volume>@<timestamp>" snapshot.
    std::optional<std::string> ephemeral_source;

    /// The options this volume would be created with to be equal to itself (`from` only for an
    /// ephemeral volume, with ephemeral set).
    VolumeOptions options() const;
};

} // namespace buttervolume
