// SPDX-License-Identifier: Apache-2.0
// The rule for volume names (Docker's local driver rule, minus '@'), checked before any syscall.
#pragma once

#include <buttervolume/export.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace buttervolume {

/// The longest volume name accepted, in bytes. A file name on btrfs may have 255 bytes, but a
/// volume's snapshots are named "<volume>@<26-byte timestamp>", so a longer volume name could be
/// created and never snapshotted (and the temporary names built from it would not fit either).
inline constexpr std::size_t max_volume_name_bytes = 228;

/// Why name is not a valid volume name, or nullopt when it is valid.
/// Valid: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, 1 to 228 bytes (so never `@`, `/`, `..` alone, or a leading dot).
BV_EXPORT std::optional<std::string> volume_name_problem(std::string_view name);

/// True when name is a valid volume name.
BV_EXPORT bool is_valid_volume_name(std::string_view name);

/// Throws InvalidArgument ("invalid volume name 'x': why") unless name is valid.
BV_EXPORT void check_volume_name(std::string_view name);

} // namespace buttervolume
