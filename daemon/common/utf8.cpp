// SPDX-License-Identifier: Apache-2.0
// UTF-8 validation by the Unicode standard's table of well-formed byte sequences.
#include "common/utf8.hpp"

namespace buttervolume::common {

namespace {

bool continuation(unsigned char c, unsigned char low = 0x80, unsigned char high = 0xbf)
{
    return c >= low && c <= high;
}

} // namespace

std::size_t utf8_sequence_length(std::string_view s) noexcept
{
    if (s.empty())
        return 0;
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    if (c < 0x80)
        return 1;
    // The second byte's range depends on the first: it is what excludes overlong forms
    // (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
    if (c >= 0xc2 && c <= 0xdf)
        return s.size() >= 2 && continuation(b(1)) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        const unsigned char low = c == 0xe0 ? 0xa0 : 0x80;
        const unsigned char high = c == 0xed ? 0x9f : 0xbf;
        return s.size() >= 3 && continuation(b(1), low, high) && continuation(b(2)) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        const unsigned char low = c == 0xf0 ? 0x90 : 0x80;
        const unsigned char high = c == 0xf4 ? 0x8f : 0xbf;
        return s.size() >= 4 && continuation(b(1), low, high) && continuation(b(2)) && continuation(b(3)) ? 4 : 0;
    }
    // 80..C1 (a continuation byte alone, or an overlong two-byte form) and F5..FF.
    return 0;
}

bool is_valid_utf8(std::string_view s) noexcept
{
    while (!s.empty()) {
        std::size_t n = utf8_sequence_length(s);
        if (n == 0)
            return false;
        s.remove_prefix(n);
    }
    return true;
}

std::string valid_utf8(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        std::size_t n = utf8_sequence_length(s);
        if (n == 0) {
            out += "\xef\xbf\xbd";
            n = 1;
        } else {
            out.append(s.data(), n);
        }
        s.remove_prefix(n);
    }
    return out;
}

} // namespace buttervolume::common
