// SPDX-License-Identifier: Apache-2.0
// Commands on send streams: export (send a snapshot), import (receive one), dump-stream.
#include "cli/command.hpp"
#include "cli/output_file.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/receive.hpp>
#include <buttervolume/send.hpp>
#include <buttervolume/snapshot.hpp>
#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace buttervolume::cli {

using common::human_bytes;

namespace {

// A file named by -i, or stdin; closed on scope exit when we opened it.
class StreamFile {
public:
    explicit StreamFile(const std::optional<std::string>& path)
    {
        if (!path || *path == "-") {
            fd_ = 0;
            return;
        }
        fd_ = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0)
            throw Error(errno, fmt::format("open '{}': {}", printable(*path), std::strerror(errno)));
        owned_ = true;
    }
    ~StreamFile()
    {
        if (owned_)
            ::close(fd_);
    }
    StreamFile(const StreamFile&) = delete;
    StreamFile& operator=(const StreamFile&) = delete;
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    bool owned_ = false;
};

// A snapshot named on the command line: a path when it has a slash, else a snapshot of the pool.
bool is_path(const std::string& arg)
{
    return arg.find('/') != std::string::npos;
}

// Progress on stderr, only when it is a terminal: one line rewritten in place.
class ProgressLine {
public:
    explicit ProgressLine(std::string verb) : verb_(std::move(verb)), tty_(::isatty(2) == 1) {}
    ~ProgressLine() { done(); }

    /// Ends the progress line, so that what is printed next starts on a line of its own.
    void done()
    {
        std::lock_guard lock(mutex_);
        if (tty_ && shown_)
            common::write_stderr("\n");
        shown_ = false;
    }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    ProgressCallback callback()
    {
        if (!tty_)
            return {};
        return [this](const StreamProgress& p) {
            std::lock_guard lock(mutex_);
            shown_ = true;
            if (p.commands)
                common::write_stderr(
                    fmt::format("\r{} {} ({} commands)\x1b[K", verb_, human_bytes(p.bytes), p.commands));
            else
                common::write_stderr(fmt::format("\r{} {}\x1b[K", verb_, human_bytes(p.bytes)));
        };
    }

private:
    std::string verb_;
    bool tty_;
    bool shown_ = false;
    std::mutex mutex_;
};

int export_snapshot(Context& ctx, const Args& args)
{
    PoolSendOptions opts;
    opts.parent = args.value("parent");
    opts.clone_sources = args.all("clone-src");
    if (auto v = args.value("proto")) {
        if (*v != "0" && *v != "1" && *v != "2" && *v != "3")
            throw UsageError(fmt::format("--proto takes 0 (highest), 1, 2 or 3, not '{}'", printable(*v)));
        opts.protocol = static_cast<std::uint32_t>(std::stoul(*v));
    }
    opts.compressed = args.flag("compressed-data");
    const std::string& snapshot = args.positional[0];
    bool paths = is_path(snapshot);
    if ((opts.parent && is_path(*opts.parent) != paths) ||
        std::any_of(opts.clone_sources.begin(), opts.clone_sources.end(), [&](auto& c) { return is_path(c) != paths; }))
        throw UsageError("give SNAPSHOT, --parent and --clone-src all as snapshot names of the pool, or all as paths");
    OutputFile out(args.value("output"));
    if (::isatty(out.fd()) == 1)
        throw UsageError("refusing to write a binary stream to a terminal; use -o FILE or a pipe");
    ProgressLine line("sent");
    opts.progress = line.callback();
    if (!paths) {
        ctx.pool().send(snapshot, out.fd(), opts);
        out.commit();
        return 0;
    }
    // Snapshots outside any pool, by path.
    SendOptions so;
    if (opts.parent)
        so.parent = *opts.parent;
    so.clone_sources.assign(opts.clone_sources.begin(), opts.clone_sources.end());
    so.protocol = opts.protocol;
    so.compressed = opts.compressed;
    so.progress = opts.progress;
    send_snapshot(snapshot, out.fd(), so);
    out.commit();
    return 0;
}

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int)
{
    interrupted = true;
}

int import_stream(Context& ctx, const Args& args)
{
    auto dest = args.value("dest");
    if (!dest)
        ctx.pool(); // creates the layout and checks the root is on btrfs
    StreamFile in(args.value("input"));
    if (::isatty(in.fd()) == 1)
        throw UsageError("refusing to read a binary stream from a terminal; use -i FILE or a pipe");
    // Ctrl-C or a TERM while receiving: stop between commands (a blocked read is interrupted,
    // no SA_RESTART) and let the library remove the unfinished subvolume.
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    ReceiveOptions opts;
    opts.cancel = [] { return interrupted.load(); };
    opts.decompress = args.flag("decompress");
    ProgressLine line("received");
    opts.progress = line.callback();
    // Into the pool, each snapshot is committed under its volume's lock and counted by the pool.
    auto got = dest ? receive_stream(in.fd(), *dest, opts) : ctx.pool().receive(in.fd(), opts);
    line.done();
    for (const auto& r : got)
        fmt::print("{}\n", printable(r.name));
    return 0;
}

int dump(Context&, const Args& args)
{
    StreamFile in(args.value("input"));
    stream::StreamReader reader(in.fd());
    std::string out;
    stream::dump_stream(reader, [&](std::string_view line) {
        out.append(line);
        out += '\n';
        if (out.size() > 64 * 1024) {
            fmt::print("{}", out);
            out.clear();
        }
    });
    fmt::print("{}", out);
    return 0;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_stream_commands(std::vector<Command>& out)
{
    out.push_back({"export", "SNAPSHOT", "write a snapshot as a btrfs send stream",
                   "Writes the btrfs send stream of the read-only SNAPSHOT (a snapshot name of the\n"
                   "pool, or a path) to stdout or FILE, natively (no btrfs-progs). With --parent,\n"
                   "the stream is incremental: the receiver must have the parent already.\n"
                   "-o FILE writes a new file of mode 0600 (the stream holds all of the volume's\n"
                   "data) beside FILE, which replaces FILE only once the export succeeded: a\n"
                   "failed export leaves FILE as it was. Progress goes to stderr when it is a terminal.",
                   {{"parent", 'p', "SNAPSHOT", "send only the differences from this snapshot"},
                    {"clone-src", 'c', "SNAPSHOT", "a snapshot the receiver has, to clone from (repeatable)", true},
                    {"output", 'o', "FILE", "write to FILE instead of stdout: created 0600, and replaced only when the "
                                            "export succeeds"},
                    {"proto", 0, "N", "protocol version: 0 for the highest the kernel supports (default), 1, 2 or 3"},
                    {"compressed-data", 0, "", "send compressed extents as they are (protocol 2)"}},
                   1, 1, export_snapshot});
    out.push_back({"import", "", "receive a btrfs send stream as a snapshot of the pool",
                   "Receives a btrfs send stream (stdin by default) into the pool's snapshots/\n"
                   "folder (or --dest DIR on btrfs), natively (no btrfs-progs), and prints the name\n"
                   "of each snapshot received. An incremental stream needs its parent there. The\n"
                   "snapshot appears only when complete, read-only and marked received; a failed or\n"
                   "interrupted import leaves nothing. Progress goes to stderr when it is a terminal.",
                   {{"input", 'i', "FILE", "read the stream from FILE instead of stdin"},
                    {"dest", 0, "DIR", "receive into DIR instead of the pool's snapshots/"},
                    {"decompress", 0, "", "write compressed extents decompressed (no encoded writes)"}},
                   0, 0, import_stream});
    out.push_back({"dump-stream", "", "list the commands of a send stream",
                   "Reads a btrfs send stream (stdin by default), checks it (framing, lengths,\n"
                   "CRC32C of every command) and lists its commands one per line, in the format\n"
                   "of `btrfs receive --dump`. Nothing is written to any filesystem.",
                   {{"input", 'i', "FILE", "read the stream from FILE instead of stdin"}},
                   0, 0, dump});
}
// clang-format on

} // namespace buttervolume::cli
