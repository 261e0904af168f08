// SPDX-License-Identifier: Apache-2.0
// FS_IOC_GETFLAGS/SETFLAGS for no-COW, and the "btrfs.compression" xattr for compression.
#include "attributes.hpp"

#include "base/sys.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>

#include <cerrno>

namespace buttervolume::btrfs {

namespace {
constexpr const char* compression_xattr = "btrfs.compression";
}

bool get_nocow(int fd, std::string_view shown)
{
    // The ioctl's argument is an int, despite the long in the macro (see ioctl_iflags(2)).
    int flags = 0;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
        throw_errno(fmt::format("read attributes of '{}'", shown));
    return (flags & FS_NOCOW_FL) != 0;
}

void set_nocow(int fd, std::string_view shown)
{
    int flags = 0;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
        throw_errno(fmt::format("read attributes of '{}'", shown));
    flags |= FS_NOCOW_FL;
    if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)
        throw_errno(fmt::format("set no-copy-on-write on '{}'", shown));
}

std::optional<Compression> get_compression(int fd, std::string_view shown)
{
    char buf[16];
    ssize_t n = ::fgetxattr(fd, compression_xattr, buf, sizeof buf);
    if (n < 0) {
        if (errno == ENODATA)
            return std::nullopt;
        throw_errno(fmt::format("read compression of '{}'", shown));
    }
    std::string_view v(buf, static_cast<std::size_t>(n));
    // zlib and zstd may carry a level suffix ("zstd:3") when set by other tools.
    v = v.substr(0, v.find(':'));
    if (v == "zstd")
        return Compression::Zstd;
    if (v == "lzo")
        return Compression::Lzo;
    if (v == "zlib")
        return Compression::Zlib;
    if (v == "none" || v == "no")
        return Compression::None;
    return std::nullopt;
}

void set_compression(int fd, Compression c, std::string_view shown)
{
    std::string_view value = to_string(c);
    if (::fsetxattr(fd, compression_xattr, value.data(), value.size(), 0) < 0)
        throw_errno(fmt::format("set compression={} on '{}'", value, shown));
}

} // namespace buttervolume::btrfs
