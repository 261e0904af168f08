// SPDX-License-Identifier: Apache-2.0
// Small file helpers for the integration tests: read and write a whole file, list a folder.
#pragma once

#include "fixture.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace buttervolume::test {

/// The contents of path; empty when it cannot be read (a test then fails on the comparison).
inline std::string read_text(const std::filesystem::path& p)
{
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Replaces the contents of path with s.
inline void write_text(const std::filesystem::path& p, const std::string& s)
{
    std::ofstream(p) << s;
}

/// `ls -A dir`: one entry a line, sorted; shows that no temporary entry is left.
inline std::string ls(const std::filesystem::path& dir)
{
    return sh(fmt::format("ls -A '{}'", dir.native()));
}

} // namespace buttervolume::test
