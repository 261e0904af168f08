// SPDX-License-Identifier: Apache-2.0
// The send stream's numbers (kernel send.h): commands, attributes, and the CRC32C of its framing.
#pragma once

#include <buttervolume/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace buttervolume::stream {

enum class Cmd : std::uint16_t {
    Unspec = 0, Subvol, Snapshot, Mkfile, Mkdir, Mknod, Mkfifo, Mksock, Symlink, Rename, Link,
    Unlink, Rmdir, SetXattr, RemoveXattr, Write, Clone, Truncate, Chmod, Chown, Utimes, End,
    UpdateExtent, Fallocate, Fileattr, EncodedWrite, EnableVerity,
};
inline constexpr std::uint16_t max_cmd = 26;

// Attr::Uuid is scoped: it names no type, whatever -Wshadow says about stream::Uuid.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
enum class Attr : std::uint16_t {
    Unspec = 0, Uuid, Ctransid, Ino, Size, Mode, Uid, Gid, Rdev, Ctime, Mtime, Atime, Otime,
    XattrName, XattrData, Path, PathTo, PathLink, FileOffset, Data, CloneUuid, CloneCtransid,
    ClonePath, CloneOffset, CloneLen, FallocateMode, Fileattr, UnencodedFileLen, UnencodedLen,
    UnencodedOffset, Compression, Encryption, VerityAlgorithm, VerityBlockSize, VeritySaltData,
    VeritySigData,
};
#pragma GCC diagnostic pop
inline constexpr std::uint16_t max_attr = 35;

/// The name of a command ("mkfile") or attribute ("path"); "cmd-N"/"attr-N" when unknown.
std::string command_name(std::uint16_t cmd);
std::string attribute_name(std::uint16_t attr);

/// CRC32C as the send stream uses it: Castagnoli polynomial, seed as given, no final XOR.
std::uint32_t crc32c(std::uint32_t seed, const void* data, std::size_t len);

} // namespace buttervolume::stream
