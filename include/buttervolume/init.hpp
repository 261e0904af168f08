// SPDX-License-Identifier: Apache-2.0
// Preparing a pool root: on btrfs already, or on a sparse btrfs image loop-mounted there.
#pragma once

#include <buttervolume/export.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace buttervolume {

/// Options for prepare_pool_root.
struct BV_EXPORT PrepareOptions {
    /// The image file to use when the root is not on btrfs (default: beside the root, ROOT.img).
    std::optional<std::filesystem::path> image;
    /// The size of a new image (sparse: it takes disk space only as volumes fill it).
    std::uint64_t image_size = 10ULL << 30;
};

/// What prepare_pool_root did.
struct BV_EXPORT PreparedRoot {
    /// The image file, when the root was not on btrfs.
    std::optional<std::filesystem::path> image;
    /// True when the image was created (truncate + mkfs.btrfs) by this call.
    bool created_image = false;
    /// True when the image was loop-mounted on the root by this call.
    bool mounted = false;
};

/// True when path is on a btrfs filesystem (statfs).
BV_EXPORT bool is_on_btrfs(const std::filesystem::path& path);

/// Makes root ready to hold a pool: creates it; when it is not on btrfs, creates a sparse image
/// (unless it exists), formats it with mkfs.btrfs and loop-mounts it on the root (mount(8)).
/// A root already on btrfs is left as it is. Runs mkfs.btrfs and mount: a setup command, never
/// a hot path. Throws Error (ENOTEMPTY) when a root off btrfs is not empty, Error naming the
/// program and its output when mkfs.btrfs or mount fails (a new image is removed again).
BV_EXPORT PreparedRoot prepare_pool_root(const std::filesystem::path& root, const PrepareOptions& opts = {});

} // namespace buttervolume
