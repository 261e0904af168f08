// SPDX-License-Identifier: Apache-2.0
// The btrfs send stream (protocol v1, v2, v3): a checked reader and a dump-style listing.
#pragma once

#include <buttervolume/error.hpp>
#include <buttervolume/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace buttervolume {

/// A malformed or unsupported send stream: bad magic or version, bad CRC, a length that does
/// not fit, a missing or ill-sized attribute, truncation (EBADMSG, or EPROTO for a version).
class BV_EXPORT StreamError : public Error {
public:
    explicit StreamError(const std::string& what, int errno_value = EBADMSG);
    ~StreamError() override;
};

/// Bytes and commands processed so far, for progress reports.
struct BV_EXPORT StreamProgress {
    std::uint64_t bytes = 0;
    std::uint64_t commands = 0;
};

/// Called from time to time (at most every few hundred milliseconds, and at the end).
using ProgressCallback = std::function<void(const StreamProgress&)>;

namespace stream {

/// Command and attribute numbers of the send stream (kernel send.h). Their values are the
/// library's business; a consumer can compare what Command::cmd() returns, not name values.
enum class Cmd : std::uint16_t;
enum class Attr : std::uint16_t;

/// The highest protocol version the reader accepts.
inline constexpr std::uint32_t max_version = 3;

using Uuid = std::array<std::uint8_t, 16>;

struct Timespec {
    std::uint64_t sec = 0;
    std::uint32_t nsec = 0;
};

/// One command of a stream, with its attributes indexed by type. The values are views into
/// the reader's buffer: valid until the next call to StreamReader::next().
/// Every typed getter throws StreamError when the attribute is missing or has the wrong size.
class BV_EXPORT Command {
public:
    /// One slot per attribute number the reader knows, and slot 0 (checked in reader.cpp).
    static constexpr std::size_t attr_slots = 36;

    std::uint16_t type() const { return type_; }
    Cmd cmd() const { return static_cast<Cmd>(type_); }
    /// True for command numbers this reader knows.
    bool known() const;
    /// Payload length (command header excluded).
    std::uint32_t size() const { return size_; }
    /// Offset of the command's header in the stream.
    std::uint64_t offset() const { return offset_; }

    bool has(Attr a) const;
    std::span<const std::uint8_t> bytes(Attr a) const;
    std::string_view string(Attr a) const;
    std::uint64_t u64(Attr a) const;
    std::uint32_t u32(Attr a) const;
    std::uint8_t u8(Attr a) const;
    Uuid uuid(Attr a) const;
    Timespec timespec(Attr a) const;

private:
    friend class StreamReader;
    struct Slot {
        const std::uint8_t* data = nullptr;
        std::uint32_t len = 0;
        bool present = false;
    };
    const Slot& slot(Attr a) const;
    [[noreturn]] void bad(Attr a, std::string_view why) const;

    std::uint16_t type_ = 0;
    std::uint32_t size_ = 0;
    std::uint64_t offset_ = 0;
    std::array<Slot, attr_slots> attrs_{};
};

/// Reads a send stream from a file descriptor or from memory, checking as it goes: the header,
/// each command's length against the version's limit before reading it, its CRC32C, and every
/// attribute's length against the payload. Several streams back to back are read in turn.
class BV_EXPORT StreamReader {
public:
    /// Reads from fd (not owned; a pipe, socket or file).
    explicit StreamReader(int fd);
    /// Reads from fd after the bytes already read from it (copied; at most 1 MiB), as a
    /// receiver that first peeked at the stream's opening command does.
    StreamReader(int fd, std::span<const std::uint8_t> already_read);
    /// Reads from memory (not copied; must outlive the reader).
    explicit StreamReader(std::span<const std::uint8_t> memory);
    ~StreamReader();
    StreamReader(const StreamReader&) = delete;
    StreamReader& operator=(const StreamReader&) = delete;

    /// Reads the next command into cmd. Returns false at end of input when it falls on a
    /// command boundary (after at least one stream header). Throws StreamError for a malformed
    /// or truncated stream or an empty input, Error when reading the fd fails.
    bool next(Command& cmd);

    /// Protocol version of the stream being read (0 before the first header).
    std::uint32_t version() const { return version_; }
    /// Bytes consumed so far.
    std::uint64_t position() const { return position_; }
    /// Number of stream headers read so far.
    std::uint32_t streams() const { return streams_; }

    /// Called when a read from the fd is interrupted by a signal: returning true stops
    /// reading with an Error (ECANCELED).
    void set_cancel_check(std::function<bool()> check) { cancel_ = std::move(check); }

private:
    bool fill(std::size_t n);
    void read_header();

    int fd_ = -1;
    std::unique_ptr<std::uint8_t[]> owned_;
    const std::uint8_t* buf_ = nullptr;
    std::size_t cap_ = 0;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
    std::uint32_t version_ = 0;
    std::uint32_t streams_ = 0;
    std::uint64_t position_ = 0;
    bool need_header_ = true;
    std::function<bool()> cancel_;
};

/// Lists a stream the way `btrfs receive --dump` does, one line per command, to line().
/// Throws what StreamReader::next throws.
BV_EXPORT void dump_stream(StreamReader& reader, const std::function<void(std::string_view line)>& line);

} // namespace stream
} // namespace buttervolume
