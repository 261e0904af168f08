// SPDX-License-Identifier: Apache-2.0
// receive_one_snapshot: peeks the first command, then feeds the native receiver through a pipe.
#include "guarded_receive.hpp"

#include "btrfs/subvolume.hpp"
#include "base/sys.hpp"
#include "stream/protocol.hpp"

#include <buttervolume/stream.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
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

// Copies prefix then the rest of in_fd into out_fd (a pipe): splice moves pages without a
// copy through user space; a plain read/write loop when the input cannot be spliced.
void feed(const std::vector<std::uint8_t>& prefix, int in_fd, int out_fd, std::atomic<std::uint64_t>& bytes,
          std::string& error)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    try {
        std::size_t off = 0;
        while (off < prefix.size()) {
            ssize_t n = ::write(out_fd, prefix.data() + off, prefix.size() - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return; // the receiver stopped: it reports why
            off += static_cast<std::size_t>(n);
        }
        bool use_splice = true;
        std::vector<char> buf;
        for (;;) {
            ssize_t n;
            if (use_splice) {
                n = ::splice(in_fd, nullptr, out_fd, nullptr, 1 << 20, SPLICE_F_MOVE | SPLICE_F_MORE);
                if (n < 0 && errno == EINVAL) {
                    use_splice = false;
                    buf.resize(1 << 20);
                    continue;
                }
                if (n < 0 && errno == EPIPE)
                    return;
            } else {
                n = ::read(in_fd, buf.data(), buf.size());
                if (n > 0) {
                    std::size_t w = 0;
                    while (w < static_cast<std::size_t>(n)) {
                        ssize_t m = ::write(out_fd, buf.data() + w, static_cast<std::size_t>(n) - w);
                        if (m < 0 && errno == EINTR)
                            continue;
                        if (m < 0)
                            return;
                        w += static_cast<std::size_t>(m);
                    }
                }
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                error = fmt::format("read the send stream: {}", std::strerror(errno));
                return;
            }
            if (n == 0)
                return;
            bytes += static_cast<std::uint64_t>(n);
        }
    } catch (...) {
        error = "feeding the receiver failed";
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

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        throw_errno("receive: pipe");
    UniqueFd rd(fds[0]);
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    // Shared with the feeder, which may outlive a failed receive while blocked reading a
    // sender that has not noticed yet: it is detached then, and ends at the input's end.
    struct Feed {
        std::vector<std::uint8_t> prefix;
        UniqueFd pipe_in;
        std::atomic<std::uint64_t> bytes{0};
        std::string error;
    };
    auto state = std::make_shared<Feed>();
    state->prefix = std::move(first.bytes);
    state->pipe_in.reset(fds[1]);
    state->bytes = state->prefix.size();
    std::thread feeder([state, in_fd] {
        feed(state->prefix, in_fd, state->pipe_in.get(), state->bytes, state->error);
        state->pipe_in.reset();
    });
    std::vector<ReceivedSnapshot> got_snaps;
    try {
        got_snaps = pool.receive(rd.get(), opts);
    } catch (...) {
        rd.reset();
        feeder.detach();
        throw;
    }
    rd.reset();
    feeder.join();
    out.bytes = state->bytes;
    bool extra = got_snaps.size() != 1 || got_snaps[0].name != first.name;
    if (extra) {
        for (const auto& r : got_snaps)
            if (r.name != first.name)
                btrfs::delete_subvolume(dir.get(), r.name.c_str(), false, r.path.native());
        throw StreamError(fmt::format("refusing a stream of {} subvolumes: one snapshot per receive",
                                      got_snaps.size()),
                          EPERM);
    }
    return out;
}

} // namespace buttervolume::replication
