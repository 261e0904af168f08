// SPDX-License-Identifier: Apache-2.0
// config.ini's [DEFAULT] section, read as the Python project's configparser reads its files.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace buttervolume {

/// The [DEFAULT] keys (lower case) and values of text: "key = value" or "key: value" lines,
/// '#' and ';' comment lines; other sections are skipped.
std::map<std::string, std::string> parse_config_defaults(const std::string& text);

/// The [DEFAULT] section of <config_dir>/config.ini; empty when the file (or the folder) does
/// not exist. Throws Error when it exists but cannot be read.
std::map<std::string, std::string> read_config_defaults(const std::filesystem::path& config_dir);

} // namespace buttervolume
