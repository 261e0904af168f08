// SPDX-License-Identifier: Apache-2.0
// CRC32C (Castagnoli) as the send stream uses it: seed 0, no final XOR; SSE4.2 when present.
#include "protocol.hpp"

#include <buttervolume/stream.hpp>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace buttervolume::stream {

namespace {

// Slicing-by-8 tables for the reflected polynomial 0x82F63B78: eight bytes per step keeps the
// portable path within a few times of the instruction, so the CRC never dominates a receive.
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables()
{
    Tables t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
        for (std::size_t s = 1; s < 8; ++s)
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    return t;
}

constexpr Tables tables = make_tables();

std::uint32_t crc_table(std::uint32_t crc, const std::uint8_t* p, std::size_t len)
{
    while (len >= 8) {
        std::uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + 4, 4);
        lo ^= crc; // little-endian host (the only kind btrfs send runs on here)
        crc = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
              tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
              tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = tables[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
// The crc32 instruction updates a raw CRC register: with seed 0 and no inversion it computes
// exactly the stream's variant.
__attribute__((target("sse4.2"))) std::uint32_t crc_sse42(std::uint32_t crc, const std::uint8_t* p, std::size_t len)
{
    std::uint64_t c = crc;
    while (len >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

bool have_sse42()
{
    // __builtin_cpu_init first: this may run before libgcc's own initialisation of the CPU
    // model (GCC's documentation of __builtin_cpu_supports).
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return yes;
}
#endif

} // namespace

std::uint32_t crc32c(std::uint32_t seed, const void* data, std::size_t len)
{
    auto p = static_cast<const std::uint8_t*>(data);
#if defined(__x86_64__)
    if (have_sse42())
        return crc_sse42(seed, p, len);
#endif
    return crc_table(seed, p, len);
}

} // namespace buttervolume::stream
