// SPDX-License-Identifier: Apache-2.0
// free_space and SpaceBudget: statvfs, and the floor (MIN_FREE) that snapshot jobs and receives keep.
#include "base/free_space.hpp"

#include "base/sys.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

namespace buttervolume {

namespace {

constexpr std::uint64_t recheck_bytes = 64ULL << 20;

FreeSpace from(const struct statvfs& st)
{
    FreeSpace f;
    f.size_bytes = std::uint64_t(st.f_blocks) * st.f_frsize;
    f.avail_bytes = std::uint64_t(st.f_bavail) * st.f_frsize;
    return f;
}

} // namespace

double FreeSpace::percent() const
{
    return size_bytes == 0 ? 100.0 : 100.0 * static_cast<double>(avail_bytes) / static_cast<double>(size_bytes);
}

std::uint64_t FreeSpace::above_floor(double floor_percent) const
{
    if (floor_percent <= 0 || size_bytes == 0)
        return avail_bytes;
    auto floor = static_cast<std::uint64_t>(std::ceil(static_cast<double>(size_bytes) * floor_percent / 100.0));
    return avail_bytes > floor ? avail_bytes - floor : 0;
}

FreeSpace free_space(int fd, std::string_view shown)
{
    struct statvfs st {};
    if (::fstatvfs(fd, &st) != 0)
        throw_errno(fmt::format("free space of '{}'", shown));
    return from(st);
}

FreeSpace free_space(const std::filesystem::path& path)
{
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0)
        throw_errno(fmt::format("free space of '{}'", path.native()));
    return from(st);
}

SpaceBudget::SpaceBudget(int fd, std::string shown, double floor_percent)
    : fd_(fd), shown_(std::move(shown)), floor_percent_(floor_percent)
{
    left_ = free_space(fd_, shown_).above_floor(floor_percent_);
}

bool SpaceBudget::charge(std::uint64_t bytes)
{
    if (fd_ < 0 || floor_percent_ <= 0)
        return true;
    if (bytes > left_ || since_check_ + bytes >= recheck_bytes) {
        left_ = std::min(left_, free_space(fd_, shown_).above_floor(floor_percent_));
        since_check_ = 0;
    }
    if (bytes > left_)
        return false;
    left_ -= bytes;
    since_check_ += bytes;
    return true;
}

std::string SpaceBudget::refusal(std::uint64_t bytes) const
{
    return fmt::format("{} more bytes would take the free space of '{}' below its floor of {:g}% (MIN_FREE); {} "
                       "bytes are left above it",
                       bytes, shown_, floor_percent_, left_);
}

} // namespace buttervolume
