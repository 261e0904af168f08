// SPDX-License-Identifier: Apache-2.0
// zlib, zstd and LZO decompression of btrfs extents, as fs/btrfs/{zlib,zstd,lzo}.c lay them out.
#include "decompress.hpp"

#include <buttervolume/stream.hpp>

#include <fmt/format.h>

#include <dlfcn.h>

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

// The libraries are opened on first need, not linked: only a receive that has to decompress
// (a rare fallback) uses them, and linking them made every process of the library, the
// daemon and each CLI command included, map all three (~0.25 MiB of RSS each run). The
// headers still give the prototypes, so each pointer has the type of the function it holds.
[[maybe_unused]] void* open_library(const char* soname, std::string_view what)
{
    void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        throw Error(EOPNOTSUPP, fmt::format("encoded write: {} decompression needs {}: {}", what, soname, ::dlerror()));
    return h;
}

template <class Fn>
[[maybe_unused]] Fn* symbol(void* lib, const char* name, std::string_view what)
{
    void* p = ::dlsym(lib, name);
    if (!p)
        throw Error(EOPNOTSUPP, fmt::format("encoded write: {} decompression: no {} in its library", what, name));
    return reinterpret_cast<Fn*>(p);
}

#if BV_HAVE_ZLIB
struct Zlib {
    decltype(::inflateInit_)* init;
    decltype(::inflate)* inflate;
    decltype(::inflateEnd)* end;
};

const Zlib& zlib_api()
{
    // A throw leaves the static unset: the next extent tries again.
    static const Zlib api = [] {
        void* h = open_library("libz.so.1", "zlib");
        return Zlib{symbol<decltype(::inflateInit_)>(h, "inflateInit_", "zlib"),
                    symbol<decltype(::inflate)>(h, "inflate", "zlib"),
                    symbol<decltype(::inflateEnd)>(h, "inflateEnd", "zlib")};
    }();
    return api;
}

void zlib(std::span<const std::uint8_t> in, std::span<std::uint8_t> out)
{
    const Zlib& api = zlib_api();
    z_stream z;
    std::memset(&z, 0, sizeof z);
    if (api.init(&z, ZLIB_VERSION, static_cast<int>(sizeof z)) != Z_OK)
        corrupt("zlib init failed");
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    int r = api.inflate(&z, Z_FINISH);
    api.end(&z);
    // Z_BUF_ERROR with a full output: the extent held more than the file uses; fine.
    if (r != Z_STREAM_END && !(r == Z_BUF_ERROR && z.avail_out == 0) && r != Z_OK)
        corrupt(fmt::format("zlib data is corrupt ({})", r));
}
#endif

#if BV_HAVE_ZSTD
struct Zstd {
    decltype(::ZSTD_createDStream)* create;
    decltype(::ZSTD_initDStream)* init;
    decltype(::ZSTD_decompressStream)* decompress;
    decltype(::ZSTD_freeDStream)* free;
    decltype(::ZSTD_isError)* is_error;
    decltype(::ZSTD_getErrorName)* error_name;
};

const Zstd& zstd_api()
{
    static const Zstd api = [] {
        void* h = open_library("libzstd.so.1", "zstd");
        return Zstd{symbol<decltype(::ZSTD_createDStream)>(h, "ZSTD_createDStream", "zstd"),
                    symbol<decltype(::ZSTD_initDStream)>(h, "ZSTD_initDStream", "zstd"),
                    symbol<decltype(::ZSTD_decompressStream)>(h, "ZSTD_decompressStream", "zstd"),
                    symbol<decltype(::ZSTD_freeDStream)>(h, "ZSTD_freeDStream", "zstd"),
                    symbol<decltype(::ZSTD_isError)>(h, "ZSTD_isError", "zstd"),
                    symbol<decltype(::ZSTD_getErrorName)>(h, "ZSTD_getErrorName", "zstd")};
    }();
    return api;
}

void zstd(std::span<const std::uint8_t> in, std::span<std::uint8_t> out)
{
    const Zstd& api = zstd_api();
    // btrfs writes frames without a content size, so stream into the fixed buffer.
    ZSTD_DStream* d = api.create();
    if (!d)
        throw std::bad_alloc();
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    std::size_t r = api.init(d);
    while (!api.is_error(r) && ib.pos < ib.size && ob.pos < ob.size) {
        r = api.decompress(d, &ob, &ib);
        if (r == 0)
            break;
    }
    api.free(d);
    if (api.is_error(r))
        corrupt(fmt::format("zstd data is corrupt ({})", api.error_name(r)));
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
using LzoDecompress = decltype(::lzo1x_decompress_safe);

LzoDecompress* lzo_api()
{
    static LzoDecompress* const fn =
        symbol<LzoDecompress>(open_library("liblzo2.so.2", "lzo"), "lzo1x_decompress_safe", "lzo");
    return fn;
}

void lzo(std::span<const std::uint8_t> in, std::span<std::uint8_t> out, std::size_t sector)
{
    LzoDecompress* decompress = lzo_api();
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
        int r = decompress(in.data() + cur_in, seg, out.data() + cur_out, &got, nullptr);
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
