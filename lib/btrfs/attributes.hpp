// SPDX-License-Identifier: Apache-2.0
// Inode attributes of a volume root: the no-copy-on-write flag and the compression property.
#pragma once

#include <buttervolume/options.hpp>

#include <optional>
#include <string_view>

namespace buttervolume::btrfs {

/// True when fd carries FS_NOCOW_FL (chattr +C).
bool get_nocow(int fd, std::string_view shown);

/// Sets FS_NOCOW_FL on fd. Only effective on an empty file or a directory (inherited by new files).
void set_nocow(int fd, std::string_view shown);

/// The btrfs.compression property of fd, if set.
std::optional<Compression> get_compression(int fd, std::string_view shown);

/// Sets the btrfs.compression property of fd.
void set_compression(int fd, Compression c, std::string_view shown);

} // namespace buttervolume::btrfs
