// SPDX-License-Identifier: Apache-2.0
// Commands on send streams: export (send a snapshot), import (receive one), dump-stream.
#include "cli.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace buttervolume::cli {

namespace {

// A file named by -i/-o, or stdin/stdout; closed on scope exit when we opened it.
class StreamFile {
public:
    StreamFile(const std::optional<std::string>& path, bool output)
    {
        if (!path || *path == "-") {
            fd_ = output ? 1 : 0;
            return;
        }
        int flags = output ? (O_WRONLY | O_CREAT | O_TRUNC) : O_RDONLY;
        fd_ = ::open(path->c_str(), flags | O_CLOEXEC, 0600);
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

int dump(Context&, const Args& args)
{
    StreamFile in(args.value("input"), false);
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

void add_stream_commands(std::vector<Command>& out)
{
    out.push_back({"dump-stream", "", "list the commands of a send stream",
                   "Reads a btrfs send stream (stdin by default), checks it (framing, lengths,\n"
                   "CRC32C of every command) and lists its commands one per line, in the format\n"
                   "of `btrfs receive --dump`. Nothing is written to any filesystem.",
                   {{"input", 'i', "FILE", "read the stream from FILE instead of stdin"}},
                   0, 0, dump});
}

} // namespace buttervolume::cli
