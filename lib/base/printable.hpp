// SPDX-License-Identifier: Apache-2.0
// printable(): user-given bytes made safe to quote in a message (a log line, a JSON reply).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace buttervolume {

/// text with every byte outside printable ASCII written as \xNN, cut after max bytes ("...").
/// Messages quote user input through this, so that a hostile value can neither forge log lines
/// nor make a reply invalid UTF-8.
std::string printable(std::string_view text, std::size_t max = 64);

} // namespace buttervolume
