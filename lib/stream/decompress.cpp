// SPDX-License-Identifier: Apache-2.0
// zlib, zstd and LZO decompression of btrfs extents, as fs/btrfs/{zlib,zstd,lzo}.c lay them out.
#include "decompress.hpp"

#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <cstring>

#if BV_HAVE_ZLIB
#include <zlib.h>
#endif
#if BV_HAVE_ZSTD
#include <zstd.h>
#endif
#if BV_HAVE_LZO
#include <lzo/lzo1x.h>
#endif

namespace buttervolume::stream {

namespace {

[[noreturn]] void corrupt(std::string_view what)
{
    throw StreamError(fmt::format("send stream: encoded write: {}", what));
}

[[noreturn, maybe_unused]] void unsupported(std::string_view what)
{
    throw Error(EOPNOTSUPP, fmt::format("encoded write: {} decompression is not built in", what));
}

#if BV_HAVE_ZLIB
void zlib(std::span<const std::uint8_t> in, std::span<std::uint8_t> out)
{
    z_stream z;
    std::memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        corrupt("zlib init failed");
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    int r = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    // Z_BUF_ERROR with a full output: the extent held more than the file uses; fine.
    if (r != Z_STREAM_END && !(r == Z_BUF_ERROR && z.avail_out == 0) && r != Z_OK)
        corrupt(fmt::format("zlib data is corrupt ({})", r));
}
#endif

#if BV_HAVE_ZSTD
void zstd(std::span<const std::uint8_t> in, std::span<std::uint8_t> out)
{
    // btrfs writes frames without a content size, so stream into the fixed buffer.
    ZSTD_DStream* d = ZSTD_createDStream();
    if (!d)
        throw std::bad_alloc();
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    std::size_t r = ZSTD_initDStream(d);
    while (!ZSTD_isError(r) && ib.pos < ib.size && ob.pos < ob.size) {
        r = ZSTD_decompressStream(d, &ob, &ib);
        if (r == 0)
            break;
    }
    ZSTD_freeDStream(d);
    if (ZSTD_isError(r))
        corrupt(fmt::format("zstd data is corrupt ({})", ZSTD_getErrorName(r)));
}
#endif

#if BV_HAVE_LZO
std::uint32_t le32(const std::uint8_t* p)
{
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// Layout (fs/btrfs/lzo.c): le32 total length, then segments of le32 length + LZO1X data, each
// holding at most one sector; a segment header never straddles a sector boundary, the rest
// of such a sector is zero padding.
void lzo(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t sector)
{
    constexpr std::size_t lzo_len = 4;
    if (in.size() < lzo_len)
        corrupt("lzo data too short");
    std::size_t total = le32(in.data());
    if (total > in.size() || total < lzo_len)
        corrupt("lzo total length does not fit");
    std::size_t cur_in = lzo_len, cur_out = 0;
    while (cur_in < total && cur_out < out.size()) {
        std::size_t left = sector - cur_in % sector;
        if (left < lzo_len)
            cur_in += left;
        if (cur_in + lzo_len > total)
            break;
        std::size_t seg = le32(in.data() + cur_in);
        cur_in += lzo_len;
        if (seg > total - cur_in)
            corrupt("lzo segment overruns the extent");
        lzo_uint got = std::min(sector, out.size() - cur_out);
        int r = lzo1x_decompress_safe(in.data() + cur_in, seg, out.data() + cur_out, &got, nullptr);
        if (r != LZO_E_OK && !(r == LZO_E_OUTPUT_OVERRUN && cur_out + got == out.size()))
            corrupt(fmt::format("lzo data is corrupt ({})", r));
        cur_in += seg;
        cur_out += got;
    }
}
#endif

} // namespace

void decompress_extent(std::uint32_t compression, std::span<const std::uint8_t> in, std::span<std::uint8_t> out)
{
    // zstd may leave garbage past what it produced (progs e3209f87): start from zeros.
    std::memset(out.data(), 0, out.size());
    switch (compression) {
    case 0:
        std::memcpy(out.data(), in.data(), std::min(in.size(), out.size()));
        return;
    case 1:
#if BV_HAVE_ZLIB
        return zlib(in, out);
#else
        unsupported("zlib");
#endif
    case 2:
#if BV_HAVE_ZSTD
        return zstd(in, out);
#else
        unsupported("zstd");
#endif
    case 3: case 4: case 5: case 6: case 7:
#if BV_HAVE_LZO
        return lzo(in, out, std::size_t(4096) << (compression - 3));
#else
        unsupported("lzo");
#endif
    default:
        corrupt(fmt::format("unknown compression type {}", compression));
    }
}

} // namespace buttervolume::stream
