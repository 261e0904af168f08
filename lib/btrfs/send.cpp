// SPDX-License-Identifier: Apache-2.0
// BTRFS_IOC_SEND and the kernel facts a sender needs, over the raw ioctls (libbtrfsutil has none).
#include "send.hpp"

#include "base/sys.hpp"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace buttervolume::btrfs {

std::uint32_t kernel_send_version()
{
    std::ifstream f("/sys/fs/btrfs/features/send_stream_version");
    std::uint32_t v = 0;
    if (!(f >> v) || v == 0)
        return 1;
    return v;
}

Uuid filesystem_uuid(int fd, std::string_view shown)
{
    struct btrfs_ioctl_fs_info_args args;
    std::memset(&args, 0, sizeof args);
    if (::ioctl(fd, BTRFS_IOC_FS_INFO, &args) < 0)
        throw_errno(fmt::format("read filesystem info of '{}'", shown));
    Uuid u;
    std::memcpy(u.data(), args.fsid, u.size());
    return u;
}

int send_ioctl(int subvol_fd, int out_fd, const SendArgs& a)
{
    struct btrfs_ioctl_send_args args;
    std::memset(&args, 0, sizeof args);
    args.send_fd = out_fd;
    args.parent_root = a.parent_root;
    args.clone_sources_count = a.clone_roots.size();
    // The kernel only reads the array; the UAPI field is not const.
    args.clone_sources = const_cast<__u64*>(reinterpret_cast<const __u64*>(a.clone_roots.data()));
    if (a.version != 0) {
        args.flags |= BTRFS_SEND_FLAG_VERSION;
        args.version = a.version;
    }
    if (a.compressed)
        args.flags |= BTRFS_SEND_FLAG_COMPRESSED;
    return ::ioctl(subvol_fd, BTRFS_IOC_SEND, &args) < 0 ? errno : 0;
}

} // namespace buttervolume::btrfs
