// SPDX-License-Identifier: Apache-2.0
// Helpers for the send/receive suites: test scripts, an independent tree digest, files, and a
// builder of (hostile) send streams.
#pragma once

#include "fixture.hpp"

#include "stream/protocol.hpp"

#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace buttervolume::test {

/// A script of tests/integration (make_tree.sh, change_tree.sh, tree_digest.sh).
inline std::string script(const char* name)
{
    return std::string(BV_TEST_SCRIPTS) + "/" + name;
}

/// The digest of tree_digest.sh: find, sha256sum, getfattr; not the code under test.
inline std::string tree_digest(const std::filesystem::path& dir)
{
    return sh(fmt::format("sh '{}' '{}'", script("tree_digest.sh"), dir.native()));
}

/// An fd opened on a path, closed on scope exit.
class FileFd {
public:
    FileFd(const std::filesystem::path& p, int flags) : fd_(::open(p.c_str(), flags | O_CLOEXEC, 0644))
    {
        if (fd_ < 0)
            throw std::runtime_error(fmt::format("open {}: {}", p.native(), std::strerror(errno)));
    }
    ~FileFd() { ::close(fd_); }
    FileFd(const FileFd&) = delete;
    FileFd& operator=(const FileFd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

/// Writes send streams command by command, with correct framing and CRCs unless told otherwise.
class StreamBuilder {
public:
    using Attr = stream::Attr;
    using Cmd = stream::Cmd;

    explicit StreamBuilder(std::uint32_t version = 1)
    {
        const char magic[] = "btrfs-stream";
        bytes_.assign(magic, magic + sizeof magic);
        le(version, 4);
    }

    StreamBuilder& cmd(Cmd c)
    {
        finish();
        start_ = bytes_.size();
        le(0, 4);
        le(static_cast<std::uint16_t>(c), 2);
        le(0, 4);
        return *this;
    }
    StreamBuilder& raw_cmd(std::uint16_t type)
    {
        cmd(Cmd::Unspec);
        bytes_[start_ + 4] = static_cast<std::uint8_t>(type);
        bytes_[start_ + 5] = static_cast<std::uint8_t>(type >> 8);
        return *this;
    }
    StreamBuilder& str(Attr a, const std::string& s) { return attr(a, s.data(), s.size()); }
    StreamBuilder& u64(Attr a, std::uint64_t v)
    {
        std::uint8_t b[8];
        for (int i = 0; i < 8; ++i)
            b[i] = static_cast<std::uint8_t>(v >> (8 * i));
        return attr(a, b, 8);
    }
    StreamBuilder& u32(Attr a, std::uint32_t v)
    {
        std::uint8_t b[4];
        for (int i = 0; i < 4; ++i)
            b[i] = static_cast<std::uint8_t>(v >> (8 * i));
        return attr(a, b, 4);
    }
    StreamBuilder& uuid(Attr a, const stream::Uuid& u) { return attr(a, u.data(), u.size()); }
    StreamBuilder& time(Attr a, std::uint64_t sec)
    {
        std::uint8_t b[12] = {};
        for (int i = 0; i < 8; ++i)
            b[i] = static_cast<std::uint8_t>(sec >> (8 * i));
        return attr(a, b, 12);
    }
    StreamBuilder& attr(Attr a, const void* data, std::size_t len)
    {
        le(static_cast<std::uint16_t>(a), 2);
        le(static_cast<std::uint32_t>(len), 2);
        auto p = static_cast<const std::uint8_t*>(data);
        bytes_.insert(bytes_.end(), p, p + len);
        return *this;
    }

    // Common commands.
    StreamBuilder& subvol(const std::string& name, const stream::Uuid& u, std::uint64_t transid = 10)
    {
        return cmd(Cmd::Subvol).str(Attr::Path, name).uuid(Attr::Uuid, u).u64(Attr::Ctransid, transid);
    }
    StreamBuilder& mkfile(const std::string& p) { return cmd(Cmd::Mkfile).str(Attr::Path, p).u64(Attr::Ino, 257); }
    StreamBuilder& mkdir(const std::string& p) { return cmd(Cmd::Mkdir).str(Attr::Path, p).u64(Attr::Ino, 258); }
    StreamBuilder& write(const std::string& p, std::uint64_t off, const std::string& data)
    {
        return cmd(Cmd::Write).str(Attr::Path, p).u64(Attr::FileOffset, off).str(Attr::Data, data);
    }
    StreamBuilder& symlink(const std::string& p, const std::string& target)
    {
        return cmd(Cmd::Symlink).str(Attr::Path, p).u64(Attr::Ino, 259).str(Attr::PathLink, target);
    }
    StreamBuilder& end() { return cmd(Cmd::End); }

    /// The finished stream; skip_crc leaves every CRC at zero.
    std::vector<std::uint8_t> bytes(bool skip_crc = false)
    {
        finish(skip_crc);
        return bytes_;
    }

    void save(const std::filesystem::path& p, bool skip_crc = false)
    {
        auto b = bytes(skip_crc);
        FileFd f(p, O_WRONLY | O_CREAT | O_TRUNC);
        if (::write(f.get(), b.data(), b.size()) != static_cast<ssize_t>(b.size()))
            throw std::runtime_error("short write");
    }

private:
    void le(std::uint64_t v, int n)
    {
        for (int i = 0; i < n; ++i)
            bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void finish(bool skip_crc = false)
    {
        if (start_ == npos)
            return;
        auto len = static_cast<std::uint32_t>(bytes_.size() - start_ - 10);
        for (int i = 0; i < 4; ++i)
            bytes_[start_ + i] = static_cast<std::uint8_t>(len >> (8 * i));
        for (int i = 0; i < 4; ++i)
            bytes_[start_ + 6 + i] = 0;
        std::uint32_t crc = skip_crc ? 0 : stream::crc32c(0, bytes_.data() + start_, bytes_.size() - start_);
        for (int i = 0; i < 4; ++i)
            bytes_[start_ + 6 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
        start_ = npos;
    }

    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    std::vector<std::uint8_t> bytes_;
    std::size_t start_ = npos;
};

} // namespace buttervolume::test
