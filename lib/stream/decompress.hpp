// SPDX-License-Identifier: Apache-2.0
// Decompression of btrfs extents (zlib, zstd, per-sector LZO) for receivers that cannot pass
// an encoded write through.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace buttervolume::stream {

/// Decompresses one extent compressed with the BTRFS_ENCODED_IO_COMPRESSION_* type
/// `compression` into exactly out.size() bytes (the unencoded length); a short result is
/// zero-filled. Throws StreamError for corrupt data, Error (EOPNOTSUPP) for a type this build
/// has no library for.
void decompress_extent(std::uint32_t compression, std::span<const std::uint8_t> in, std::span<std::uint8_t> out);

} // namespace buttervolume::stream
