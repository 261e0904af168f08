// SPDX-License-Identifier: Apache-2.0
// Qgroups through BTRFS_IOC_QUOTA_CTL / QGROUP_LIMIT, and usage read from sysfs (no tree search).
#include "quota.hpp"

#include "base/sys.hpp"
#include "subvolume.hpp"

#include <endian.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

// Not in Debian 12's 6.1 kernel headers: simple quotas arrived in kernel 6.7.
#ifndef BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA
#define BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA 4ULL
#endif

namespace {
// BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE (kernel 6.7 btrfs_tree.h).
constexpr std::uint64_t qgroup_status_flag_simple_mode = 1ULL << 3;
} // namespace

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

QuotaState Quota::state(int fd) const
{
    QuotaState q;
    q.enabled = enabled();
    if (!q.enabled)
        return q;
    // The quota tree's status item (0, QGROUP_STATUS, 0): version, generation, flags, rescan,
    // and since kernel 6.7, with simple quotas, the generation they were enabled in.
    struct btrfs_ioctl_search_args args = {};
    args.key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
    args.key.min_objectid = args.key.max_objectid = 0;
    args.key.min_type = args.key.max_type = BTRFS_QGROUP_STATUS_KEY;
    args.key.min_offset = args.key.max_offset = 0;
    args.key.max_transid = UINT64_MAX;
    args.key.nr_items = 1;
    if (::ioctl(fd, BTRFS_IOC_TREE_SEARCH, &args) < 0 || args.key.nr_items < 1)
        return q; // no CAP_SYS_ADMIN: usage is shown as the kernel counts it
    struct btrfs_ioctl_search_header hdr;
    std::memcpy(&hdr, args.buf, sizeof hdr);
    std::uint64_t item[5] = {};
    if (hdr.type != BTRFS_QGROUP_STATUS_KEY || hdr.len < 4 * sizeof(std::uint64_t))
        return q;
    std::memcpy(item, args.buf + sizeof hdr, std::min<std::size_t>(hdr.len, sizeof item));
    if ((le64toh(item[2]) & qgroup_status_flag_simple_mode) && hdr.len >= sizeof item)
        q.simple_since = le64toh(item[4]);
    return q;
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
