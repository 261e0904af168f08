// SPDX-License-Identifier: Apache-2.0
// Qgroups through BTRFS_IOC_QUOTA_CTL / QGROUP_LIMIT, and usage read from sysfs (no tree search).
#include "quota.hpp"

#include "base/sys.hpp"
#include "subvolume.hpp"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

// Not in Debian 12's 6.1 kernel headers: simple quotas arrived in kernel 6.7.
#ifndef BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA
#define BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA 4ULL
#endif

namespace buttervolume::btrfs {

Quota::Quota(int fd)
{
    struct btrfs_ioctl_fs_info_args info = {};
    if (::ioctl(fd, BTRFS_IOC_FS_INFO, &info) < 0)
        throw_errno("read btrfs filesystem info");
    Uuid fsid;
    std::copy(std::begin(info.fsid), std::end(info.fsid), fsid.begin());
    sysfs_ = fmt::format("/sys/fs/btrfs/{}/qgroups", uuid_to_string(fsid));
}

bool Quota::enabled() const
{
    // The qgroups directory exists in sysfs only while quotas are enabled.
    return ::access(sysfs_.c_str(), F_OK) == 0;
}

void Quota::enable(int fd) const
{
    if (enabled())
        return;
    struct btrfs_ioctl_quota_ctl_args args = {};
    args.cmd = BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA;
    if (::ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) == 0)
        return;
    // Kernels before 6.7 reject the simple-quota command with EINVAL: use full qgroups there.
    if (errno != EINVAL && errno != EOPNOTSUPP)
        throw_errno("enable simple quotas");
    args = {};
    args.cmd = BTRFS_QUOTA_CTL_ENABLE;
    if (::ioctl(fd, BTRFS_IOC_QUOTA_CTL, &args) < 0)
        throw_errno("enable quotas");
}

void Quota::set_limit(int fd, std::uint64_t bytes, std::string_view shown) const
{
    enable(fd);
    struct btrfs_ioctl_qgroup_limit_args args = {};
    args.qgroupid = 0; // 0: the qgroup of the subvolume fd belongs to
    args.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
    args.lim.max_rfer = bytes;
    if (::ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0)
        throw_errno(fmt::format("set size limit of '{}'", shown));
}

std::optional<std::uint64_t> Quota::read_number(const std::string& path) const
{
    std::string text;
    if (!read_file_at(AT_FDCWD, path.c_str(), text))
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || end == text.c_str())
        return std::nullopt;
    return v;
}

std::optional<std::uint64_t> Quota::limit(std::uint64_t subvolume_id) const
{
    std::string dir = fmt::format("{}/0_{}/", sysfs_, subvolume_id);
    auto flags = read_number(dir + "limit_flags");
    if (!flags || (*flags & BTRFS_QGROUP_LIMIT_MAX_RFER) == 0)
        return std::nullopt;
    return read_number(dir + "max_referenced");
}

std::optional<std::uint64_t> Quota::referenced(std::uint64_t subvolume_id) const
{
    return read_number(fmt::format("{}/0_{}/referenced", sysfs_, subvolume_id));
}

} // namespace buttervolume::btrfs
