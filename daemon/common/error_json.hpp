// SPDX-License-Identifier: Apache-2.0
// The one encoder of the plugin protocol's error reply, {"Err": "..."}.
#pragma once

#include <string>
#include <string_view>

namespace buttervolume::common {

/// {"Err":"<message>"}, the message escaped as JSON whatever bytes it holds. What Docker shows
/// the user verbatim when a request fails (HTTP 500), and what the plugin answers to anything
/// it cannot serve.
std::string error_json(std::string_view message);

} // namespace buttervolume::common
