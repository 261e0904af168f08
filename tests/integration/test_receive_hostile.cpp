// SPDX-License-Identifier: Apache-2.0
// Hostile and broken streams: refused with a clear error, nothing written outside the
// destination, no partial snapshot left behind.
#include "../catch.hpp"
#include "fixture.hpp"
#include "stream_files.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/receive.hpp>

#include <fmt/format.h>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;
using Attr = stream::Attr;
using Cmd = stream::Cmd;

namespace {

const stream::Uuid uuid_a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// A filesystem with a destination folder and, beside it, things a stream must not touch.
struct Hostile {
    BtrfsFixture fx{1ULL << 30};
    fs::path mnt = fx.mnt();
    fs::path dest = mnt / "dest";
    fs::path outside = mnt / "outside";
    Hostile()
    {
        sh(fmt::format("cd '{}' && mkdir dest outside && echo secret > outside/secret && chmod 600 outside/secret && "
                       "btrfs subvolume create other >/dev/null && head -c 65536 /dev/urandom > other/data && "
                       "btrfs subvolume snapshot -r other other_ro >/dev/null",
                       mnt.native()));
        before_ = snapshot_of_fs();
    }

    // Everything on the filesystem outside dest, with contents and xattrs.
    std::string snapshot_of_fs() const
    {
        return sh(fmt::format("cd '{}' && find . -path ./dest -prune -o -printf '%p %y %m %U %G %s %T@\\n' | sort && "
                              "cat outside/secret && getfattr -R -d -m - outside 2>/dev/null || true",
                              mnt.native()));
    }

    // Receives bytes; returns the error message (empty when it succeeded).
    std::string receive(const std::vector<std::uint8_t>& b)
    {
        stream::StreamReader r(std::span<const std::uint8_t>(b.data(), b.size()));
        try {
            receive_stream(r, dest);
        } catch (const Error& e) {
            return e.what();
        }
        return {};
    }

    // The stream is refused with a message containing `why`, and nothing is left anywhere.
    void refused(StreamBuilder& s, const std::string& why)
    {
        std::string err = receive(s.bytes());
        CHECK_THAT(err, Catch::Contains(why));
        CHECK(fs::is_empty(dest));
        CHECK(snapshot_of_fs() == before_);
    }

private:
    std::string before_;
};

} // namespace

TEST_CASE("hostile: path traversal and absolute paths are refused", "[hostile]")
{
    Hostile h;
    for (std::string p : {"../escape", "a/../../escape", "/tmp/escape", "./x", "a//b", "x/"}) {
        INFO(p);
        StreamBuilder s;
        s.subvol("snap", uuid_a).mkdir("a").mkfile(p).end();
        h.refused(s, "refusing path");
    }
    // Also in the second path of a rename or link.
    StreamBuilder s;
    s.subvol("snap", uuid_a).mkfile("f").cmd(Cmd::Rename).str(Attr::Path, "f").str(Attr::PathTo, "../../outside/f").end();
    h.refused(s, "refusing path");
    StreamBuilder l;
    l.subvol("snap", uuid_a).cmd(Cmd::Link).str(Attr::Path, "stolen").str(Attr::PathLink, "../outside/secret").end();
    h.refused(l, "refusing path");
}

TEST_CASE("hostile: writes through a symlink pointing outside are refused", "[hostile]")
{
    Hostile h;
    std::string out = h.outside.native();
    SECTION("as a directory in the middle of a path")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).symlink("link", out).mkfile("link/evil").end();
        h.refused(s, "symlink");
    }
    SECTION("as the file written")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).symlink("link", out + "/secret").write("link", 0, "pwned").end();
        h.refused(s, "symlink");
    }
    SECTION("relative, as the file truncated")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).symlink("link", "../../outside/secret")
            .cmd(Cmd::Truncate).str(Attr::Path, "link").u64(Attr::Size, 0).end();
        h.refused(s, "symlink");
    }
    SECTION("chmod, chown, utimes and xattrs on the link itself never reach its target")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).symlink("link", out + "/secret")
            .cmd(Cmd::Chmod).str(Attr::Path, "link").u64(Attr::Mode, 0777).end();
        h.refused(s, "chmod");
        StreamBuilder x;
        x.subvol("snap", uuid_a).symlink("dir", out)
            .cmd(Cmd::SetXattr).str(Attr::Path, "dir/secret").str(Attr::XattrName, "user.evil").str(Attr::XattrData, "1").end();
        h.refused(x, "symlink");
        StreamBuilder o;
        o.subvol("snap", uuid_a).symlink("dir", out)
            .cmd(Cmd::Chown).str(Attr::Path, "dir/secret").u64(Attr::Uid, 0).u64(Attr::Gid, 0).end();
        h.refused(o, "symlink");
    }
}

TEST_CASE("hostile: devices, fifos and odd names are never opened or created", "[hostile]")
{
    Hostile h;
    SECTION("a write to a block device the stream made")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a)
            .cmd(Cmd::Mknod).str(Attr::Path, "disk").u64(Attr::Ino, 300).u64(Attr::Mode, 060600).u64(Attr::Rdev, 0x700)
            .write("disk", 0, "boom").end();
        h.refused(s, "not a regular file");
    }
    SECTION("a write to a fifo (would block forever if opened)")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).cmd(Cmd::Mkfifo).str(Attr::Path, "p").u64(Attr::Ino, 300).write("p", 0, "x").end();
        h.refused(s, "not a regular file");
    }
    SECTION("subvolume names that are not one plain component")
    {
        for (const char* n : {"../up", "a/b", ".hidden", "", "nl\nx"}) {
            StreamBuilder s;
            s.subvol(n, uuid_a).end();
            h.refused(s, "subvolume name");
        }
    }
    SECTION("an unknown command")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).raw_cmd(99).str(Attr::Path, "x").end();
        h.refused(s, "unknown command 99");
    }
    SECTION("a command before any subvolume")
    {
        StreamBuilder s;
        s.mkfile("x").end();
        h.refused(s, "before any subvol");
    }
}

TEST_CASE("hostile: clones from outside the received subvolume are refused", "[hostile]")
{
    Hostile h;
    auto info = sh(fmt::format("btrfs subvolume show '{}' | sed -n 's/^[[:space:]]*UUID:[[:space:]]*//p'", (h.mnt / "other_ro").native()));
    auto transid = sh(fmt::format("btrfs subvolume show '{}' | sed -n 's/^[[:space:]]*Generation:[[:space:]]*//p'", (h.mnt / "other_ro").native()));
    stream::Uuid other{};
    {
        std::string hex;
        for (char c : info)
            if (std::isxdigit(static_cast<unsigned char>(c)))
                hex += c;
        REQUIRE(hex.size() == 32);
        for (std::size_t i = 0; i < 16; ++i)
            other[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    SECTION("from a subvolume elsewhere on the filesystem, by UUID")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).mkfile("f")
            .cmd(Cmd::Clone).str(Attr::Path, "f").u64(Attr::FileOffset, 0).u64(Attr::CloneLen, 65536)
            .uuid(Attr::CloneUuid, other).u64(Attr::CloneCtransid, std::stoull(transid))
            .str(Attr::ClonePath, "data").u64(Attr::CloneOffset, 0).end();
        h.refused(s, "not in that directory");
    }
    SECTION("from a path leaving the subvolume being received")
    {
        StreamBuilder s;
        s.subvol("snap", uuid_a).mkfile("f")
            .cmd(Cmd::Clone).str(Attr::Path, "f").u64(Attr::FileOffset, 0).u64(Attr::CloneLen, 6)
            .uuid(Attr::CloneUuid, uuid_a).u64(Attr::CloneCtransid, 10)
            .str(Attr::ClonePath, "../outside/secret").u64(Attr::CloneOffset, 0).end();
        h.refused(s, "refusing path");
    }
    SECTION("an incremental stream whose parent is elsewhere")
    {
        StreamBuilder s;
        s.cmd(Cmd::Snapshot).str(Attr::Path, "snap").uuid(Attr::Uuid, uuid_a).u64(Attr::Ctransid, 10)
            .uuid(Attr::CloneUuid, other).u64(Attr::CloneCtransid, std::stoull(transid)).end();
        h.refused(s, "not in that directory");
    }
}

TEST_CASE("hostile: bad CRC, oversized lengths and truncation anywhere leave nothing", "[hostile]")
{
    Hostile h;
    // A real stream of a small tree, from btrfs send.
    sh(fmt::format("cd '{}' && btrfs subvolume create src >/dev/null && cd src && echo hi > a && mkdir d && "
                   "head -c 200000 /dev/urandom > d/b && ln -s a l && setfattr -n user.x -v y a && cd .. && "
                   "btrfs subvolume snapshot -r src snap >/dev/null && btrfs send -q snap > '{}'",
                   h.mnt.native(), (scratch_dir() / "small.stream").native()));
    std::vector<std::uint8_t> good;
    {
        FileFd f(scratch_dir() / "small.stream", O_RDONLY);
        std::uint8_t buf[65536];
        ssize_t n;
        while ((n = ::read(f.get(), buf, sizeof buf)) > 0)
            good.insert(good.end(), buf, buf + n);
    }
    std::vector<std::size_t> offsets;
    {
        stream::StreamReader r(std::span<const std::uint8_t>(good.data(), good.size()));
        stream::Command c;
        while (r.next(c))
            offsets.push_back(static_cast<std::size_t>(c.offset()));
    }
    REQUIRE(offsets.size() > 8);
    auto before = h.snapshot_of_fs();

    SECTION("the intact stream is received (the checks below are not vacuous)")
    {
        CHECK(h.receive(good).empty());
        CHECK(tree_digest(h.dest / "snap") == tree_digest(h.mnt / "snap"));
    }
    SECTION("truncated at every command boundary and in the middle of every command")
    {
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            std::size_t next = i + 1 < offsets.size() ? offsets[i + 1] : good.size();
            for (std::size_t cut : {offsets[i], offsets[i] + 5, (offsets[i] + next) / 2}) {
                if (cut >= good.size())
                    continue;
                INFO("cut at " << cut << " of " << good.size());
                std::vector<std::uint8_t> part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
                std::string err = h.receive(part);
                CHECK_THAT(err, Catch::Contains("truncated") || Catch::Contains("empty"));
                CHECK(fs::is_empty(h.dest));
            }
        }
        CHECK(h.snapshot_of_fs() == before);
    }
    SECTION("a bad CRC in any command")
    {
        for (std::size_t i = 1; i < offsets.size(); i += 3) {
            auto bad = good;
            bad[offsets[i] + 6] ^= 0x40;
            INFO("command " << i);
            CHECK_THAT(h.receive(bad), Catch::Contains("checksum"));
            CHECK(fs::is_empty(h.dest));
        }
    }
    SECTION("a command declaring more than the protocol allows")
    {
        auto bad = good;
        std::size_t at = offsets[offsets.size() / 2];
        bad[at] = 0xff;
        bad[at + 1] = 0xff;
        bad[at + 2] = 0xff;
        bad[at + 3] = 0x7f;
        CHECK_THAT(h.receive(bad), Catch::Contains("more than the"));
        CHECK(fs::is_empty(h.dest));
    }
    SECTION("an encoded write with inconsistent lengths")
    {
        StreamBuilder s(2);
        s.subvol("snap2", uuid_a).mkfile("f")
            .cmd(Cmd::EncodedWrite).str(Attr::Path, "f").u64(Attr::FileOffset, 0).u64(Attr::UnencodedFileLen, 1 << 30)
            .u64(Attr::UnencodedLen, 4096).u64(Attr::UnencodedOffset, 0).u32(Attr::Compression, 1).str(Attr::Data, "zz")
            .end();
        CHECK_THAT(h.receive(s.bytes()), Catch::Contains("inconsistent lengths"));
        CHECK(fs::is_empty(h.dest));
    }
    CHECK(h.snapshot_of_fs() == before);
}
