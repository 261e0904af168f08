// SPDX-License-Identifier: Apache-2.0
// The free-space floor (MIN_FREE): what a filesystem has free, and a writer stopped above the floor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace buttervolume {

/// A filesystem's size and free space as statvfs gives them to an unprivileged writer.
struct FreeSpace {
    std::uint64_t size_bytes = 0;  ///< f_blocks * f_frsize
    std::uint64_t avail_bytes = 0; ///< f_bavail * f_frsize
    /// avail_bytes as a percentage of size_bytes (100 when the filesystem reports no size).
    double percent() const;
    /// The bytes that may still be allocated before free space falls under floor_percent.
    std::uint64_t above_floor(double floor_percent) const;
};

/// fstatvfs of fd (shown in the error). Throws Error.
FreeSpace free_space(int fd, std::string_view shown);

/// statvfs of path. Throws Error naming path.
FreeSpace free_space(const std::filesystem::path& path);

/// Counts what a writer allocates on one filesystem and stops it before free space would fall
/// under a floor. statvfs is read at the start and again every 64 MiB counted (other writers
/// use the same space); the count itself is kept, as freshly written data may not show in
/// statvfs until it is written out.
class SpaceBudget {
public:
    /// No floor: charge never refuses.
    SpaceBudget() = default;
    /// The filesystem of fd (shown in errors), floor_percent of its size kept free. Throws Error.
    SpaceBudget(int fd, std::string shown, double floor_percent);

    /// Counts bytes about to be allocated; false (nothing counted) when they would take free
    /// space under the floor. Throws Error when statvfs fails.
    bool charge(std::uint64_t bytes);
    /// Why charge(bytes) said no, naming the filesystem and the floor.
    std::string refusal(std::uint64_t bytes) const;

private:
    int fd_ = -1;
    std::string shown_;
    double floor_percent_ = 0;
    std::uint64_t left_ = 0;        // bytes still allowed above the floor
    std::uint64_t since_check_ = 0; // bytes counted since statvfs was last read
};

} // namespace buttervolume
