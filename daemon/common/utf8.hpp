// SPDX-License-Identifier: Apache-2.0
// Well-formed UTF-8: what the JSON writer and the terminal do with bytes that are not.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace buttervolume::common {

/// The length (1 to 4) of the well-formed UTF-8 sequence s starts with, or 0 when it starts
/// with none: a stray continuation byte, a truncated sequence, an overlong form, a surrogate
/// or a code point above U+10FFFF (the Unicode standard's table 3-7, what Python's strict
/// decoder accepts).
std::size_t utf8_sequence_length(std::string_view s) noexcept;

/// True when s is well-formed UTF-8 (ASCII included).
bool is_valid_utf8(std::string_view s) noexcept;

/// s with each byte that starts no well-formed sequence replaced by U+FFFD, the replacement
/// character; well-formed text is returned unchanged.
std::string valid_utf8(std::string_view s);

} // namespace buttervolume::common
