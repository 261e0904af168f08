// SPDX-License-Identifier: Apache-2.0
// receive_one_snapshot: peeks the first command, then the native receiver reads on from the same fd.
#include "guarded_receive.hpp"

#include "btrfs/subvolume.hpp"
#include "base/sys.hpp"
#include "stream/protocol.hpp"

#include <buttervolume/stream.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace buttervolume::replication {

namespace {

constexpr std::size_t header_size = 17;     // "btrfs-stream\0" + le32 version
constexpr std::size_t cmd_header_size = 10; // le32 length, le16 command, le32 crc
constexpr std::uint32_t max_first_cmd = 1 << 20;

// Reads exactly n bytes unless the input ends first; returns the count read.
std::size_t read_full(int fd, std::uint8_t* buf, std::size_t n)
{
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            throw_errno("read the send stream");
        if (r == 0)
            break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

std::uint64_t drain(int fd)
{
    std::uint64_t total = 0;
    std::vector<char> buf(1 << 16);
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return total;
        total += static_cast<std::uint64_t>(n);
    }
}

struct FirstCommand {
    std::vector<std::uint8_t> bytes;
    std::string name;
    stream::Uuid uuid{};
};

} // namespace

GuardedReceive receive_one_snapshot(Pool& pool, int in_fd,
                                    const std::function<void(const SnapshotName&)>& check,
                                    const ReceiveOptions& opts)
{
    const PoolPaths& paths = pool.paths();
    GuardedReceive out;
    FirstCommand first;
    first.bytes.resize(header_size + cmd_header_size);
    std::size_t got = read_full(in_fd, first.bytes.data(), first.bytes.size());
    if (got == 0) {
        out.empty = true;
        return out;
    }
    if (got < first.bytes.size())
        throw StreamError(fmt::format("send stream: truncated after {} bytes", got));
    std::uint32_t len = 0;
    std::memcpy(&len, first.bytes.data() + header_size, 4); // little-endian hosts only, as btrfs itself
    if (len > max_first_cmd)
        throw StreamError(fmt::format("send stream: first command of {} bytes is not a subvolume header", len));
    first.bytes.resize(header_size + cmd_header_size + len);
    if (read_full(in_fd, first.bytes.data() + header_size + cmd_header_size, len) < len)
        throw StreamError("send stream: truncated in its first command");
    {
        stream::StreamReader reader(std::span<const std::uint8_t>(first.bytes.data(), first.bytes.size()));
        stream::Command c;
        if (!reader.next(c) || (c.cmd() != stream::Cmd::Subvol && c.cmd() != stream::Cmd::Snapshot))
            throw StreamError("send stream: does not start with a subvolume or snapshot command");
        first.name = std::string(c.string(stream::Attr::Path));
        first.uuid = c.uuid(stream::Attr::Uuid);
    }
    auto sn = parse_snapshot_name(first.name);
    if (!sn)
        throw InvalidArgument(fmt::format("refusing to receive '{}': not a snapshot name <volume>@<timestamp>",
                                          first.name.substr(0, 255)));
    check(*sn);
    out.name = first.name;

    UniqueFd dir = open_dir_at(AT_FDCWD, paths.snapshots.c_str(), paths.snapshots.native(), false);
    struct stat st;
    if (::fstatat(dir.get(), first.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        UniqueFd have(::openat(dir.get(), first.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        btrfs::SubvolumeInfo info;
        bool same = have && btrfs::is_subvolume_root(have.get()) &&
                    (info = btrfs::subvolume_info(have.get(), first.name), info.received_uuid == first.uuid) &&
                    info.read_only;
        if (!same)
            throw AlreadyExists(fmt::format("refusing to receive '{}': a snapshot of that name exists here with "
                                            "other content",
                                            first.name));
        out.present = true;
        out.bytes = first.bytes.size() + drain(in_fd);
        return out;
    }

    // The receiver reads on from in_fd after the bytes peeked at here: no second pipe, no
    // feeder thread (sshd hands the stream over in small pieces; each had to wake two threads
    // and cross two pipes, twice btrfs receive's CPU on the receiving host).
    stream::StreamReader reader(in_fd, first.bytes);
    // One subvolume, committed only once the input has ended: a second one (another volume's,
    // a name that is no snapshot) was once kept when a later part of the stream failed.
    ReceiveOptions one = opts;
    one.one_subvolume = true;
    std::vector<ReceivedSnapshot> got_snaps = pool.receive(reader, one);
    out.bytes = reader.position();
    if (got_snaps.size() != 1 || got_snaps[0].name != first.name)
        throw Error(EIO, fmt::format("receive of '{}' committed {} subvolumes", first.name, got_snaps.size()));
    return out;
}

} // namespace buttervolume::replication
