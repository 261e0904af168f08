// SPDX-License-Identifier: Apache-2.0
// Escaping control characters and printing aligned tables.
#include "common/terminal.hpp"

#include "common/utf8.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace buttervolume::common {

std::string printable(std::string_view s)
{
    // Well-formed UTF-8 stays readable (a terminal shows it); a byte outside it is escaped
    // like a control character, so a Latin-1 line neither garbles the terminal nor makes a
    // log line undecodable.
    std::string out;
    while (!s.empty()) {
        const auto c = static_cast<unsigned char>(s.front());
        std::size_t n = utf8_sequence_length(s);
        if (c < 0x20 || c == 0x7f || n == 0) {
            out += fmt::format("\\x{:02x}", c);
            n = 1;
        } else {
            out.append(s.data(), n);
        }
        s.remove_prefix(n);
    }
    return out;
}

void write_stderr(std::string_view text) noexcept
{
    while (!text.empty()) {
        ssize_t n = ::write(2, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool flush_stdout() noexcept
{
    errno = 0;
    if (std::fflush(stdout) != 0)
        return false;
    if (std::ferror(stdout)) {
        if (errno == 0)
            errno = EIO;
        return false;
    }
    return true;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows)
{
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows)
            width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            if (c + 1 == cells.size())
                out += cells[c];
            else
                out += fmt::format("{:<{}}  ", cells[c], width[c]);
        }
        fmt::print("{}\n", out);
    };
    line(header);
    for (const auto& r : rows)
        line(r);
}

std::string human_bytes(std::uint64_t n)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    for (; v >= 1024 && u < 4; ++u)
        v /= 1024;
    return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

} // namespace buttervolume::common
