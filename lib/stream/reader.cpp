// SPDX-License-Identifier: Apache-2.0
// StreamReader: framing, CRC and TLV checks of the btrfs send stream, before anything trusts it.
#include "protocol.hpp"

#include <buttervolume/stream.hpp>

#include "../base/sys.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace buttervolume {

StreamError::StreamError(const std::string& what, int errno_value) : Error(errno_value, what) {}
StreamError::~StreamError() = default;

namespace stream {

namespace {

constexpr char magic[] = "btrfs-stream"; // 13 bytes with its NUL
constexpr std::size_t header_size = 17;
constexpr std::size_t cmd_header_size = 10;

// The kernel's send buffer is 64 KiB in v1 and ALIGN(16 KiB + 128 KiB, PAGE_SIZE) from v2 on;
// anything declaring more is refused before a byte of it is read (progs 23ac2778). The v2+
// limit leaves room for larger pages and future kernels without letting a stream make us
// allocate much.
constexpr std::uint32_t max_payload_v1 = 64 * 1024 - cmd_header_size;
constexpr std::uint32_t max_payload_v2 = 1024 * 1024;
constexpr std::size_t buffer_size = 2 * 1024 * 1024;
// Reads go into a small region at the front of the buffer that stays in the CPU cache: the
// data is read, checksummed and written out while it is still there, and only that region
// is ever touched (the rest of the buffer is for v2+ commands larger than it).
constexpr std::size_t read_ahead = 64 * 1024;
constexpr std::size_t compact_at = 64 * 1024;

std::uint16_t le16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t le32(const std::uint8_t* p)
{
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t le64(const std::uint8_t* p) { return le32(p) | static_cast<std::uint64_t>(le32(p + 4)) << 32; }

constexpr const char* cmd_names[] = {
    "unspec", "subvol", "snapshot", "mkfile", "mkdir", "mknod", "mkfifo", "mksock", "symlink",
    "rename", "link", "unlink", "rmdir", "set_xattr", "remove_xattr", "write", "clone", "truncate",
    "chmod", "chown", "utimes", "end", "update_extent", "fallocate", "fileattr", "encoded_write",
    "enable_verity",
};
constexpr const char* attr_names[] = {
    "unspec", "uuid", "ctransid", "ino", "size", "mode", "uid", "gid", "rdev", "ctime", "mtime",
    "atime", "otime", "xattr_name", "xattr_data", "path", "path_to", "path_link", "file_offset",
    "data", "clone_uuid", "clone_ctransid", "clone_path", "clone_offset", "clone_len",
    "fallocate_mode", "fileattr", "unencoded_file_len", "unencoded_len", "unencoded_offset",
    "compression", "encryption", "verity_algorithm", "verity_block_size", "verity_salt_data",
    "verity_sig_data",
};
static_assert(std::size(cmd_names) == max_cmd + 1);
static_assert(std::size(attr_names) == max_attr + 1);
static_assert(Command::attr_slots == max_attr + 1, "Command's slots are indexed by attribute number");

} // namespace

#ifdef BV_FUZZING
bool fuzz_skip_crc = false;
#endif

std::string command_name(std::uint16_t cmd)
{
    return cmd <= max_cmd ? cmd_names[cmd] : fmt::format("cmd-{}", cmd);
}

std::string attribute_name(std::uint16_t attr)
{
    return attr <= max_attr ? attr_names[attr] : fmt::format("attr-{}", attr);
}

bool Command::known() const
{
    return type_ >= 1 && type_ <= max_cmd;
}

const Command::Slot& Command::slot(Attr a) const
{
    auto i = static_cast<std::size_t>(a);
    if (i == 0 || i > max_attr || !attrs_[i].present)
        bad(a, "is missing");
    return attrs_[i];
}

void Command::bad(Attr a, std::string_view why) const
{
    throw StreamError(fmt::format("send stream: {} command at offset {}: attribute {} {}",
                                  command_name(type_), offset_, attribute_name(static_cast<std::uint16_t>(a)), why));
}

bool Command::has(Attr a) const
{
    auto i = static_cast<std::size_t>(a);
    return i <= max_attr && attrs_[i].present;
}

std::span<const std::uint8_t> Command::bytes(Attr a) const
{
    const Slot& s = slot(a);
    return {s.data, s.len};
}

std::string_view Command::string(Attr a) const
{
    const Slot& s = slot(a);
    return {reinterpret_cast<const char*>(s.data), s.len};
}

std::uint64_t Command::u64(Attr a) const
{
    const Slot& s = slot(a);
    if (s.len != 8)
        bad(a, fmt::format("has {} bytes, expected 8", s.len));
    return le64(s.data);
}

std::uint32_t Command::u32(Attr a) const
{
    const Slot& s = slot(a);
    if (s.len != 4)
        bad(a, fmt::format("has {} bytes, expected 4", s.len));
    return le32(s.data);
}

std::uint8_t Command::u8(Attr a) const
{
    const Slot& s = slot(a);
    if (s.len != 1)
        bad(a, fmt::format("has {} bytes, expected 1", s.len));
    return s.data[0];
}

Uuid Command::uuid(Attr a) const
{
    const Slot& s = slot(a);
    if (s.len != 16)
        bad(a, fmt::format("has {} bytes, expected 16", s.len));
    Uuid u;
    std::memcpy(u.data(), s.data, 16);
    return u;
}

Timespec Command::timespec(Attr a) const
{
    const Slot& s = slot(a);
    if (s.len != 12)
        bad(a, fmt::format("has {} bytes, expected 12", s.len));
    return {le64(s.data), le32(s.data + 8)};
}

StreamReader::StreamReader(int fd) : fd_(fd), owned_(new std::uint8_t[buffer_size]), cap_(buffer_size)
{
    buf_ = owned_.get();
    // From ssh or sshd a stream comes through a 64 KiB pipe; a 1 MiB one lets the writer run
    // ahead with fewer wake-ups of either side.
    widen_pipe(fd);
}

StreamReader::StreamReader(int fd, std::span<const std::uint8_t> already_read) : StreamReader(fd)
{
    if (already_read.size() > max_payload_v2 + header_size + cmd_header_size)
        throw InvalidArgument(fmt::format("stream reader: {} bytes already read, more than a stream's opening command",
                                          already_read.size()));
    std::memcpy(owned_.get(), already_read.data(), already_read.size());
    end_ = already_read.size();
}

StreamReader::StreamReader(std::span<const std::uint8_t> memory)
    : buf_(memory.data()), cap_(memory.size()), end_(memory.size()), eof_(true)
{
}

StreamReader::~StreamReader() = default;

// Makes n bytes available at buf_ + pos_; false when the input ends first.
bool StreamReader::fill(std::size_t n)
{
    if (end_ - pos_ >= n)
        return true;
    if (eof_ || fd_ < 0)
        return false;
    std::uint8_t* buf = owned_.get();
    if (cap_ - pos_ < n || pos_ >= compact_at) {
        std::memmove(buf, buf + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
    }
    while (end_ - pos_ < n) {
        // Read a little ahead, not the whole buffer: data read just before it is checksummed
        // and written out is still in the CPU cache (a 2 MiB read would evict it first). The
        // data left to move to the front is less than one command.
        std::size_t want = std::min(cap_ - end_, std::max(n - (end_ - pos_), read_ahead));
        ssize_t got = ::read(fd_, buf + end_, want);
        if (got < 0) {
            if (errno == EINTR) {
                if (cancel_ && cancel_())
                    throw Error(ECANCELED, "reading the send stream: interrupted");
                continue;
            }
            throw_errno("read the send stream");
        }
        if (got == 0) {
            eof_ = true;
            return false;
        }
        end_ += static_cast<std::size_t>(got);
    }
    return true;
}

void StreamReader::read_header()
{
    if (!fill(header_size)) {
        if (end_ == pos_ && streams_ > 0)
            return; // clean end of input after a complete stream
        if (end_ == pos_)
            throw StreamError("send stream is empty");
        throw StreamError(fmt::format("send stream truncated in its header at offset {}", position_));
    }
    const std::uint8_t* h = buf_ + pos_;
    if (std::memcmp(h, magic, sizeof magic) != 0)
        throw StreamError(fmt::format("not a btrfs send stream: bad magic at offset {}", position_));
    std::uint32_t v = le32(h + sizeof magic);
    if (v < 1 || v > max_version)
        throw StreamError(fmt::format("send stream version {} is not supported (1 to {})", v, max_version), EPROTO);
    version_ = v;
    ++streams_;
    pos_ += header_size;
    position_ += header_size;
    need_header_ = false;
}

bool StreamReader::next(Command& cmd)
{
    if (need_header_) {
        read_header();
        if (need_header_)
            return false;
    }
    if (!fill(cmd_header_size)) {
        if (end_ == pos_)
            return false;
        throw StreamError(fmt::format("send stream truncated in a command header at offset {}", position_));
    }
    const std::uint8_t* h = buf_ + pos_;
    std::uint32_t len = le32(h);
    std::uint16_t type = le16(h + 4);
    std::uint32_t crc = le32(h + 6);
    std::uint32_t limit = version_ == 1 ? max_payload_v1 : max_payload_v2;
    if (len > limit)
        throw StreamError(fmt::format("send stream: {} command at offset {} declares {} bytes, more than the {} allowed",
                                      command_name(type), position_, len, limit));
    if (!fill(cmd_header_size + len))
        throw StreamError(fmt::format("send stream truncated inside a {} command at offset {} ({} of {} bytes)",
                                      command_name(type), position_, end_ - pos_, cmd_header_size + len));
    h = buf_ + pos_; // fill() may have moved the data
    static constexpr std::uint8_t zero_crc[4] = {};
    std::uint32_t actual = crc32c(0, h, 6);
    actual = crc32c(actual, zero_crc, 4);
    actual = crc32c(actual, h + cmd_header_size, len);
#ifdef BV_FUZZING
    // Only in the receiver's fuzz target: mutated inputs rarely keep a valid CRC, and the
    // receiver behind the check is what that target is for.
    if (fuzz_skip_crc)
        actual = crc;
#endif
    if (actual != crc)
        throw StreamError(fmt::format("send stream: {} command at offset {} has a bad checksum ({:08x}, expected {:08x})",
                                      command_name(type), position_, actual, crc));

    cmd.type_ = type;
    cmd.size_ = len;
    cmd.offset_ = position_;
    cmd.attrs_.fill({});
    const std::uint8_t* p = h + cmd_header_size;
    const std::uint8_t* end = p + len;
    while (p < end) {
        if (end - p < 2)
            throw StreamError(fmt::format("send stream: {} command at offset {}: attribute header truncated",
                                          command_name(type), position_));
        std::uint16_t at = le16(p);
        if (at == 0 || at > max_attr)
            throw StreamError(fmt::format("send stream: {} command at offset {}: unknown attribute {}",
                                          command_name(type), position_, at));
        std::uint32_t alen;
        if (version_ >= 2 && at == static_cast<std::uint16_t>(Attr::Data)) {
            // From v2 on, DATA has no length: it is the rest of the command.
            p += 2;
            alen = static_cast<std::uint32_t>(end - p);
        } else {
            if (end - p < 4)
                throw StreamError(fmt::format("send stream: {} command at offset {}: attribute header truncated",
                                              command_name(type), position_));
            alen = le16(p + 2);
            p += 4;
            if (alen > static_cast<std::uint32_t>(end - p))
                throw StreamError(fmt::format("send stream: {} command at offset {}: attribute {} of {} bytes "
                                              "overruns the command",
                                              command_name(type), position_, attribute_name(at), alen));
        }
        cmd.attrs_[at] = {p, alen, true};
        p += alen;
    }
    pos_ += cmd_header_size + len;
    position_ += cmd_header_size + len;
    // After END, another stream may follow (btrfs send a b c); it starts with its own header.
    if (type == static_cast<std::uint16_t>(Cmd::End))
        need_header_ = true;
    return true;
}

} // namespace stream
} // namespace buttervolume
