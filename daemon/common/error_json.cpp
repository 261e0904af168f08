// SPDX-License-Identifier: Apache-2.0
// {"Err": ...} through the common JSON writer, so every error reply is escaped the same way.
#include "common/error_json.hpp"

#include "common/json.hpp"

#include <fmt/format.h>

namespace buttervolume::common {

namespace {

// The length of the UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF)
// that starts s[i]; 0 when the bytes there are not one.
std::size_t utf8_length(std::string_view s, std::size_t i)
{
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80)
        return 1;
    std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
            return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 > 0x8f))
        return 0;
    return n;
}

// Messages quote what a request held (an endpoint, a key): a byte that is not UTF-8 would make
// the whole reply undecodable for Docker's JSON decoder, so it is written as the text \xNN.
std::string as_utf8(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (std::size_t n = utf8_length(s, i)) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
            ++i;
        }
    }
    return out;
}

} // namespace

std::string error_json(std::string_view message)
{
    JsonWriter w(message.size() + 16);
    w.begin_object();
    w.field("Err", as_utf8(message));
    w.end_object();
    return w.take();
}

} // namespace buttervolume::common
