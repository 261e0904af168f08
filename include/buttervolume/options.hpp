// SPDX-License-Identifier: Apache-2.0
// Volume options: what `docker volume create -o key=value` and `buttervolume create -o` accept.
#pragma once

#include <buttervolume/export.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

/// The btrfs compression property of a volume's root directory (inherited by new files).
enum class Compression { None, Zlib, Lzo, Zstd };

/// The property value btrfs uses for c ("none", "zlib", "lzo", "zstd").
BV_EXPORT std::string_view to_string(Compression c);

/// Options a volume is created with. Unset optionals mean "the filesystem default".
struct BV_EXPORT VolumeOptions {
    /// false sets the no-copy-on-write attribute (chattr +C) on the empty volume root.
    bool copy_on_write = true;
    /// The compression property of the volume root.
    std::optional<Compression> compression;
    /// A qgroup limit on the referenced bytes of the volume.
    std::optional<std::uint64_t> size_limit;
    /// Create the volume as a writable snapshot of this volume (or `volume@timestamp` snapshot).
    std::optional<std::string> from;
    /// A throwaway clone of `from` (which it needs): each time the volume goes from no mounts to
    /// one its content is replaced by a fresh writable snapshot of `from`, and what containers
    /// wrote is discarded at the last unmount.
    bool ephemeral = false;

    /// Parses Docker-style options. Throws InvalidArgument naming the key or value and listing
    /// the valid keys or values. Keys: copyonwrite, nocow, compression, size, from, ephemeral.
    static VolumeOptions parse(const std::map<std::string, std::string>& opts);

    /// "key=value" pairs, as given on a command line (`-o size=1G`). Throws InvalidArgument.
    static VolumeOptions parse_pairs(const std::vector<std::string>& pairs);

    bool operator==(const VolumeOptions&) const = default;
};

/// Parses a size: bytes, or a number with a K, M, G, T, P suffix (powers of 1024; a trailing
/// "B" or "iB" is accepted). Throws InvalidArgument naming the text.
BV_EXPORT std::uint64_t parse_size(std::string_view text);

/// A size for people: "1.5G", "64M", "512".
BV_EXPORT std::string format_size(std::uint64_t bytes);

} // namespace buttervolume
