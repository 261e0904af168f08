// SPDX-License-Identifier: Apache-2.0
// The send stream reader on stored streams made by `btrfs send`, and on damaged copies of them.
#include "stream/protocol.hpp"

#include <buttervolume/stream.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using namespace buttervolume;
using namespace buttervolume::stream;

namespace {

std::string data_dir()
{
    return BV_TEST_DATA "/streams/";
}

std::vector<std::uint8_t> load(const std::string& name)
{
    std::ifstream f(data_dir() + name, std::ios::binary);
    REQUIRE(f);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string dump_of(const std::vector<std::uint8_t>& bytes)
{
    StreamReader r(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
    std::string out;
    dump_stream(r, [&](std::string_view l) {
        out.append(l);
        out += '\n';
    });
    return out;
}

// Offsets of every command header in a well-formed single stream.
std::vector<std::size_t> command_offsets(const std::vector<std::uint8_t>& bytes)
{
    StreamReader r(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
    Command c;
    std::vector<std::size_t> out;
    while (r.next(c))
        out.push_back(c.offset());
    return out;
}

void put_le32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Reads the whole stream; returns true when it ended with an END command.
bool read_all(const std::vector<std::uint8_t>& bytes)
{
    StreamReader r(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
    Command c;
    bool ended = false;
    while (r.next(c))
        ended = c.cmd() == Cmd::End;
    return ended;
}

struct UtcZone {
    UtcZone()
    {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

} // namespace

TEST_CASE("stream: crc32c matches the Castagnoli check value", "[stream]")
{
    const char* s = "123456789";
    // The standard check value uses seed ~0 and a final XOR; the stream uses neither.
    CHECK((crc32c(~0u, s, 9) ^ ~0u) == 0xE3069283u);
    CHECK(crc32c(0, "", 0) == 0);
    // Split updates give the same result as one pass (the reader checksums header and payload apart).
    CHECK(crc32c(crc32c(0, s, 4), s + 4, 5) == crc32c(0, s, 9));
}

TEST_CASE("stream: crc32c of long buffers, at any length and alignment, equals a bit-by-bit reference", "[stream]")
{
    // Lengths around the three-block path (3 x 8 KiB) and a v1 write command (48 KiB), odd
    // start addresses: the fast paths must agree with the definition of the CRC.
    auto reference = [](std::uint32_t c, const std::uint8_t* p, std::size_t n) {
        while (n--) {
            c ^= *p++;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
        return c;
    };
    std::vector<std::uint8_t> data(140000);
    std::uint32_t x = 12345;
    for (auto& b : data) {
        x = x * 1103515245u + 12345u;
        b = static_cast<std::uint8_t>(x >> 16);
    }
    for (std::size_t n : {24575u, 24576u, 24577u, 49152u, 49163u, 73728u, 139990u})
        for (std::size_t start : {0u, 1u, 7u}) {
            INFO("length " << n << " from offset " << start);
            CHECK(crc32c(0x1234567u, data.data() + start, n) == reference(0x1234567u, data.data() + start, n));
        }
}

TEST_CASE("stream: listing equals btrfs receive --dump for streams from btrfs send", "[stream]")
{
    UtcZone utc;
    for (const char* name : {"full-v1", "full-v2", "incremental-v1", "incremental-v2", "compressed-v2"}) {
        INFO(name);
        auto bytes = load(std::string(name) + ".stream");
        auto expected = load(std::string(name) + ".dump");
        CHECK(dump_of(bytes) == std::string(expected.begin(), expected.end()));
    }
}

TEST_CASE("stream: header version and attributes are decoded", "[stream]")
{
    auto bytes = load("incremental-v2.stream");
    StreamReader r(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
    Command c;
    REQUIRE(r.next(c));
    CHECK(r.version() == 2);
    CHECK(c.cmd() == Cmd::Snapshot);
    CHECK(c.string(Attr::Path) == "fx2");
    CHECK(c.u64(Attr::Ctransid) > 0);
    CHECK(c.has(Attr::CloneUuid));
    CHECK_FALSE(c.has(Attr::Data));
    CHECK_THROWS_AS(c.string(Attr::Data), StreamError);
    CHECK_THROWS_AS(c.u32(Attr::Ctransid), StreamError); // 8 bytes, asked as 4
    CHECK(read_all(bytes));
}

TEST_CASE("stream: a flipped bit anywhere in a command fails its CRC", "[stream]")
{
    auto good = load("full-v2.stream");
    auto offsets = command_offsets(good);
    REQUIRE(offsets.size() > 10);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        std::size_t start = offsets[i];
        std::size_t end = i + 1 < offsets.size() ? offsets[i + 1] : good.size();
        // Flip a byte of the payload (or of the type field for an empty command).
        std::size_t at = end - start > 10 ? start + 10 + (end - start - 10) / 2 : start + 4;
        auto bad = good;
        bad[at] ^= 0x01;
        INFO("command " << i << " byte " << at);
        CHECK_THROWS_WITH(read_all(bad), Catch::Contains("checksum"));
    }
}

TEST_CASE("stream: truncation is detected at every byte, and at command boundaries there is no END",
          "[stream]")
{
    auto good = load("incremental-v2.stream");
    auto offsets = command_offsets(good);
    CHECK_THROWS_WITH(read_all({}), Catch::Contains("empty"));
    for (std::size_t len = 1; len < good.size(); ++len) {
        std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
        INFO("cut at " << len);
        bool boundary = std::find(offsets.begin(), offsets.end(), len) != offsets.end();
        if (boundary)
            CHECK_FALSE(read_all(cut)); // reads cleanly but never sees END: receivers must refuse
        else
            CHECK_THROWS_AS(read_all(cut), StreamError);
    }
}

TEST_CASE("stream: oversized lengths are refused before reading", "[stream]")
{
    auto good = load("full-v1.stream");
    auto offsets = command_offsets(good);
    SECTION("a command longer than the v1 buffer")
    {
        auto bad = good;
        put_le32(bad, offsets[1], 64 * 1024);
        CHECK_THROWS_WITH(read_all(bad), Catch::Contains("more than the"));
    }
    SECTION("a command longer than the input")
    {
        auto bad = good;
        put_le32(bad, offsets.back(), 1000);
        CHECK_THROWS_WITH(read_all(bad), Catch::Contains("truncated inside"));
    }
    SECTION("an attribute longer than its command")
    {
        // Rewrite the first TLV length of the second command, then fix the CRC so that only
        // the length check can catch it.
        auto bad = good;
        std::size_t c = offsets[1];
        bad[c + 10 + 2] = 0xff;
        bad[c + 10 + 3] = 0x7f;
        std::uint32_t len = bad[c] | bad[c + 1] << 8 | bad[c + 2] << 16 | bad[c + 3] << 24;
        put_le32(bad, c + 6, 0);
        put_le32(bad, c + 6, crc32c(0, bad.data() + c, 10 + len));
        CHECK_THROWS_WITH(read_all(bad), Catch::Contains("overruns"));
    }
}

TEST_CASE("stream: bad magic, unsupported version and unknown commands are reported", "[stream]")
{
    auto good = load("full-v1.stream");
    auto bad = good;
    bad[0] = 'X';
    CHECK_THROWS_WITH(read_all(bad), Catch::Contains("bad magic"));
    bad = good;
    put_le32(bad, 13, 9);
    CHECK_THROWS_WITH(read_all(bad), Catch::Contains("version 9"));

    // A command number from the future, with a correct CRC: read, and marked unknown.
    auto offsets = command_offsets(good);
    std::size_t c = offsets[1];
    bad = good;
    bad[c + 4] = 200;
    bad[c + 5] = 0;
    std::uint32_t len = bad[c] | bad[c + 1] << 8 | bad[c + 2] << 16 | bad[c + 3] << 24;
    put_le32(bad, c + 6, 0);
    put_le32(bad, c + 6, crc32c(0, bad.data() + c, 10 + len));
    StreamReader r(std::span<const std::uint8_t>(bad.data(), bad.size()));
    Command cmd;
    REQUIRE(r.next(cmd));
    REQUIRE(r.next(cmd));
    CHECK_FALSE(cmd.known());
    CHECK(cmd.type() == 200);
    CHECK_THAT(dump_of(bad), Catch::Contains("unknown command 200"));
}

TEST_CASE("stream: streams back to back are read in turn", "[stream]")
{
    auto a = load("full-v1.stream");
    auto b = load("incremental-v2.stream");
    std::vector<std::uint8_t> both = a;
    both.insert(both.end(), b.begin(), b.end());
    StreamReader r(std::span<const std::uint8_t>(both.data(), both.size()));
    Command c;
    int ends = 0;
    while (r.next(c))
        ends += c.cmd() == Cmd::End;
    CHECK(ends == 2);
    CHECK(r.streams() == 2);
    CHECK(r.version() == 2);
}
