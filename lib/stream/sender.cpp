// SPDX-License-Identifier: Apache-2.0
// send_snapshot: BTRFS_IOC_SEND into a pipe, drained into the caller's fd on another thread.
#include <buttervolume/send.hpp>

#include "../btrfs/send.hpp"
#include "../btrfs/subvolume.hpp"
#include "../base/sys.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace buttervolume {

namespace {

struct Source {
    UniqueFd fd;
    btrfs::SubvolumeInfo info;
};

Source open_source(const std::filesystem::path& p, const btrfs::Uuid* fsid, std::string_view role)
{
    Source s;
    s.fd = open_dir_at(AT_FDCWD, p.c_str(), p.native(), false);
    if (!btrfs::is_subvolume(s.fd.get()))
        throw InvalidArgument(fmt::format("cannot send: {} '{}' is not a btrfs subvolume", role, p.native()));
    s.info = btrfs::subvolume_info(s.fd.get(), p.native());
    if (!s.info.read_only)
        throw InvalidArgument(fmt::format("cannot send: {} '{}' is not read-only", role, p.native()));
    // Root ids only mean something within one filesystem: a parent from another one would
    // silently name an unrelated subvolume.
    if (fsid && btrfs::filesystem_uuid(s.fd.get(), p.native()) != *fsid)
        throw InvalidArgument(fmt::format("cannot send: {} '{}' is on another filesystem", role, p.native()));
    return s;
}

// Blocks SIGPIPE in the calling thread for its lifetime. The kernel raises SIGPIPE in the
// thread whose write hit a closed pipe (send's kernel_write, or our drain's write); blocked,
// it stays pending on that thread, and is consumed here before unblocking.
class SigpipeBlock {
public:
    SigpipeBlock()
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, &old_);
    }
    ~SigpipeBlock()
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
    sigset_t old_;
};

// Copies the pipe into out until EOF; returns 0 or the errno of the failed write or read.
int drain(int in, int out, std::atomic<std::uint64_t>& bytes, const ProgressCallback& progress)
{
    SigpipeBlock block;
    constexpr std::size_t chunk = 1 << 20;
    bool use_splice = true;
    std::vector<char> buf;
    auto last = std::chrono::steady_clock::now();
    for (;;) {
        ssize_t n;
        if (use_splice) {
            n = ::splice(in, nullptr, out, nullptr, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
            if (n < 0 && errno == EINVAL) {
                // splice needs a pipe on one side and an output that supports it (not every
                // file or socket type does): fall back to plain copies.
                use_splice = false;
                buf.resize(chunk);
                continue;
            }
        } else {
            n = ::read(in, buf.data(), buf.size());
            if (n > 0) {
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = ::write(out, buf.data() + off, static_cast<std::size_t>(n - off));
                    if (w < 0) {
                        if (errno == EINTR)
                            continue;
                        return errno;
                    }
                    off += w;
                }
            }
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return 0;
        bytes += static_cast<std::uint64_t>(n);
        if (progress) {
            auto now = std::chrono::steady_clock::now();
            if (now - last > std::chrono::milliseconds(250)) {
                last = now;
                progress({bytes.load(), 0});
            }
        }
    }
}

} // namespace

StreamProgress send_snapshot(const std::filesystem::path& snapshot, int out_fd, const SendOptions& opts)
{
    const std::string shown = snapshot.native();
    Source src = open_source(snapshot, nullptr, "snapshot");
    btrfs::Uuid fsid = btrfs::filesystem_uuid(src.fd.get(), shown);
    btrfs::SendArgs args;
    std::optional<Source> parent;
    if (opts.parent) {
        parent = open_source(*opts.parent, &fsid, "parent");
        args.parent_root = parent->info.id;
    }
    std::vector<std::uint64_t> clones;
    for (const auto& c : opts.clone_sources)
        clones.push_back(open_source(c, &fsid, "clone source").info.id);
    // btrfs-progs lists the parent among the clone sources too; do the same so that both
    // produce the same stream.
    if (parent)
        clones.push_back(parent->info.id);
    args.clone_roots = clones;

    std::uint32_t supported = btrfs::kernel_send_version();
    if (opts.protocol > supported)
        throw InvalidArgument(fmt::format("cannot send '{}': protocol {} requested, the kernel supports up to {}",
                                          shown, opts.protocol, supported));
    // Without BTRFS_SEND_FLAG_VERSION the kernel speaks v1, so the version is always explicit.
    std::uint32_t effective = opts.protocol ? opts.protocol : supported;
    args.version = effective;
    if (opts.compressed && effective < 2)
        throw InvalidArgument(fmt::format("cannot send '{}' with compressed data: needs protocol 2 or later", shown));
    args.compressed = opts.compressed;

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        throw_errno("create a pipe for the send stream");
    UniqueFd pipe_r(fds[0]), pipe_w(fds[1]);
    // A larger pipe lets the kernel run ahead of the writer (progs does the same), and a larger
    // pipe out (to ssh, to a receiver) lets the writer run ahead of its reader: 2 GiB over ssh
    // took 8.2-8.4 s with 64 KiB pipes, 6.9-7.8 s with 1 MiB (BENCHMARKS.md).
    widen_pipe(pipe_w.get());
    widen_pipe(out_fd);

    std::atomic<std::uint64_t> bytes{0};
    int drain_err = 0;
    std::thread drainer([&] {
        drain_err = drain(pipe_r.get(), out_fd, bytes, opts.progress);
        // Closing our end makes the kernel's next write fail with EPIPE instead of blocking.
        pipe_r.reset();
    });
    int send_err;
    {
        SigpipeBlock block;
        send_err = btrfs::send_ioctl(src.fd.get(), pipe_w.get(), args);
    }
    pipe_w.reset(); // EOF for the drainer
    drainer.join();

    if (drain_err != 0) {
        std::string msg = fmt::format("send of '{}' failed: writing the stream: {}", shown, std::strerror(drain_err));
        if (send_err != 0 && send_err != EPIPE)
            msg += fmt::format("; the kernel reported: {}", std::strerror(send_err));
        throw Error(drain_err, msg);
    }
    if (send_err != 0) {
        std::string why = std::strerror(send_err);
        if (send_err == EPERM)
            why += " (a snapshot involved is not read-only, is being deleted, or we lack CAP_SYS_ADMIN)";
        else if (send_err == EAGAIN)
            why += " (a deduplication is running on a snapshot involved)";
        throw Error(send_err, fmt::format("send of '{}' failed: {}", shown, why));
    }
    StreamProgress done{bytes.load(), 0};
    if (opts.progress)
        opts.progress(done);
    return done;
}

} // namespace buttervolume
