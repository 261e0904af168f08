// SPDX-License-Identifier: Apache-2.0
// A listing of a send stream in the format of `btrfs receive --dump` (btrfs-progs 6.x), so the
// two can be compared line by line in tests.
#include "protocol.hpp"

#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <cctype>
#include <ctime>

namespace buttervolume::stream {

namespace {

// progs escapes characters that could break a line, C style, and others as octal.
std::string escaped(std::string_view path)
{
    std::string out;
    for (char c : path) {
        switch (c) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\x1b': out += "\\e"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        case ' ': out += "\\ "; break;
        case '\\': out += "\\\\"; break;
        default:
            if (!std::isprint(static_cast<unsigned char>(c))) {
                auto u = static_cast<unsigned char>(c);
                out += fmt::format("\\{}{}{}", char('0' + ((u & 0300) >> 6)), char('0' + ((u & 070) >> 3)),
                                   char('0' + (u & 07)));
            } else {
                out += c;
            }
        }
    }
    return out;
}

// path_cat_out: "a" + "b" -> "a/b"; an empty second part (the subvolume root) keeps the slash.
std::string cat(std::string_view a, std::string_view b)
{
    return fmt::format("{}/{}", a, b);
}

std::string uuid_text(const Uuid& u)
{
    return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                       u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                       u[14], u[15]);
}

std::string time_text(const Timespec& ts)
{
    std::time_t t = static_cast<std::time_t>(ts.sec);
    std::tm tm{};
    if (!localtime_r(&t, &tm))
        return "?";
    char buf[64];
    if (std::strftime(buf, sizeof buf, "%FT%T%z", &tm) == 0)
        return "?";
    return buf;
}

// "<title> <escaped path> <rest>", in progs' columns.
std::string head(std::string_view title, const std::string& p, const std::string& rest)
{
    std::string out = fmt::format("{:<16}", title);
    std::string e = escaped(p);
    out += e;
    if (rest.empty())
        return out;
    std::size_t n = e.size();
    do {
        out += ' ';
    } while (++n < 32);
    return out + rest;
}

// The commands on file data and attributes (extents, fileattr, verity).
std::string data_line_for(const Command& c, const std::string& subvol)
{
    auto path = [&] { return cat(subvol, c.string(Attr::Path)); };
    switch (c.cmd()) {
    case Cmd::Write:
        return head("write", path(), fmt::format("offset={} len={}", c.u64(Attr::FileOffset), c.bytes(Attr::Data).size()));
    case Cmd::Clone:
        return head("clone", path(),
                    fmt::format("offset={} len={} from={} clone_offset={}", c.u64(Attr::FileOffset),
                                c.u64(Attr::CloneLen), cat(subvol, c.string(Attr::ClonePath)),
                                c.u64(Attr::CloneOffset)));
    case Cmd::UpdateExtent:
        return head("update_extent", path(), fmt::format("offset={} len={}", c.u64(Attr::FileOffset), c.u64(Attr::Size)));
    case Cmd::Fallocate:
        return head("fallocate", path(),
                    fmt::format("mode={} offset={} len={}", c.u32(Attr::FallocateMode), c.u64(Attr::FileOffset),
                                c.u64(Attr::Size)));
    case Cmd::Fileattr:
        // progs prints "0x" before a decimal number; kept so that listings compare equal.
        return head("fileattr", path(), fmt::format("fileattr=0x{}", c.u64(Attr::Fileattr)));
    case Cmd::EncodedWrite:
        return head("encoded_write", path(),
                    fmt::format("offset={} len={}, unencoded_file_len={}, unencoded_len={}, unencoded_offset={}, "
                                "compression={}, encryption={}",
                                c.u64(Attr::FileOffset), c.bytes(Attr::Data).size(), c.u64(Attr::UnencodedFileLen),
                                c.u64(Attr::UnencodedLen), c.u64(Attr::UnencodedOffset),
                                c.has(Attr::Compression) ? c.u32(Attr::Compression) : 0,
                                c.has(Attr::Encryption) ? c.u32(Attr::Encryption) : 0));
    case Cmd::EnableVerity:
        return head("enable_verity", path(),
                    fmt::format("algorithm={} block_size={} salt_len={} sig_len={}", c.u8(Attr::VerityAlgorithm),
                                c.u32(Attr::VerityBlockSize),
                                c.has(Attr::VeritySaltData) ? c.bytes(Attr::VeritySaltData).size() : 0,
                                c.has(Attr::VeritySigData) ? c.bytes(Attr::VeritySigData).size() : 0));
    default:
        return fmt::format("unknown command {} ({} bytes at offset {})", c.type(), c.size(), c.offset());
    }
}

std::string line_for(const Command& c, std::string& subvol)
{
    // progs 6.2 escapes the destinations of symlink, rename and link, but not clone sources
    // or xattr names and values.
    auto path = [&] { return cat(subvol, c.string(Attr::Path)); };
    switch (c.cmd()) {
    case Cmd::Subvol:
        subvol = cat(".", c.string(Attr::Path));
        return head("subvol", subvol,
                    fmt::format("uuid={} transid={}", uuid_text(c.uuid(Attr::Uuid)), c.u64(Attr::Ctransid)));
    case Cmd::Snapshot:
        subvol = cat(".", c.string(Attr::Path));
        return head("snapshot", subvol,
                    fmt::format("uuid={} transid={} parent_uuid={} parent_transid={}", uuid_text(c.uuid(Attr::Uuid)),
                                c.u64(Attr::Ctransid), uuid_text(c.uuid(Attr::CloneUuid)),
                                c.u64(Attr::CloneCtransid)));
    case Cmd::Mkfile: return head("mkfile", path(), "");
    case Cmd::Mkdir: return head("mkdir", path(), "");
    case Cmd::Mkfifo: return head("mkfifo", path(), "");
    case Cmd::Mksock: return head("mksock", path(), "");
    case Cmd::Mknod:
        return head("mknod", path(), fmt::format("mode={:o} dev=0x{:x}", c.u64(Attr::Mode), c.u64(Attr::Rdev)));
    case Cmd::Symlink: return head("symlink", path(), "dest=" + escaped(c.string(Attr::PathLink)));
    case Cmd::Rename: return head("rename", path(), "dest=" + escaped(cat(subvol, c.string(Attr::PathTo))));
    case Cmd::Link: return head("link", path(), "dest=" + escaped(c.string(Attr::PathLink)));
    case Cmd::Unlink: return head("unlink", path(), "");
    case Cmd::Rmdir: return head("rmdir", path(), "");
    case Cmd::SetXattr: {
        auto data = c.bytes(Attr::XattrData);
        // progs prints the value with %.*s: up to its first NUL.
        std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
        text = text.substr(0, text.find('\0'));
        return head("set_xattr", path(),
                    fmt::format("name={} data={} len={}", c.string(Attr::XattrName), text, data.size()));
    }
    case Cmd::RemoveXattr: return head("remove_xattr", path(), fmt::format("name={}", c.string(Attr::XattrName)));
    case Cmd::Truncate: return head("truncate", path(), fmt::format("size={}", c.u64(Attr::Size)));
    case Cmd::Chmod: return head("chmod", path(), fmt::format("mode={:o}", c.u64(Attr::Mode)));
    case Cmd::Chown:
        return head("chown", path(), fmt::format("gid={} uid={}", c.u64(Attr::Gid), c.u64(Attr::Uid)));
    case Cmd::Utimes:
        return head("utimes", path(),
                    fmt::format("atime={} mtime={} ctime={}", time_text(c.timespec(Attr::Atime)),
                                time_text(c.timespec(Attr::Mtime)), time_text(c.timespec(Attr::Ctime))));
    case Cmd::End:
        return {};
    default:
        return data_line_for(c, subvol);
    }
}

} // namespace

void dump_stream(StreamReader& reader, const std::function<void(std::string_view line)>& line)
{
    Command c;
    std::string subvol = ".";
    while (reader.next(c)) {
        std::string l = line_for(c, subvol);
        if (!l.empty())
            line(l);
    }
}

} // namespace buttervolume::stream
