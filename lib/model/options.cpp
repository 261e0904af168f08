// SPDX-License-Identifier: Apache-2.0
// Parsing and printing of volume options and sizes.
#include "base/printable.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"

#include <buttervolume/names.hpp>
#include <buttervolume/options.hpp>
#include <buttervolume/volume.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

namespace buttervolume {

namespace {
std::string lower(std::string_view s)
{
    return ascii_lower(s);
}

bool parse_bool(const std::string& key, const std::string& value)
{
    std::string v = lower(value);
    if (v == "true" || v == "yes" || v == "on" || v == "1")
        return true;
    if (v == "false" || v == "no" || v == "off" || v == "0")
        return false;
    throw InvalidArgument(fmt::format("invalid value '{}' for option '{}': use true or false", printable(value),
                                      printable(key)));
}

constexpr std::string_view valid_keys = "copyonwrite, nocow, compression, size, from, ephemeral";
} // namespace

std::string_view to_string(Compression c)
{
    switch (c) {
    case Compression::None:
        return "none";
    case Compression::Zlib:
        return "zlib";
    case Compression::Lzo:
        return "lzo";
    case Compression::Zstd:
        return "zstd";
    }
    return "none";
}

std::uint64_t parse_size(std::string_view text)
{
    auto fail = [&](std::string_view why) -> std::uint64_t {
        throw InvalidArgument(fmt::format("invalid size '{}': {}", printable(text), why));
    };
    if (text.empty())
        return fail("it is empty");
    std::size_t i = 0;
    std::uint64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            return fail("it is too large");
        value = value * 10 + digit;
        ++i;
    }
    if (i == 0)
        return fail("it must start with a number (bytes, or with a K, M, G, T or P suffix)");
    std::string suffix = lower(text.substr(i));
    int shift = 0;
    if (!suffix.empty()) {
        static constexpr std::string_view units = "kmgtp";
        auto pos = units.find(suffix[0]);
        std::string rest = suffix.substr(1);
        if (suffix == "b")
            shift = 0;
        else if (pos != std::string_view::npos && (rest.empty() || rest == "b" || rest == "ib"))
            shift = 10 * static_cast<int>(pos + 1);
        else
            return fail(fmt::format("unknown unit '{}' (use K, M, G, T or P)", printable(text.substr(i))));
    }
    if (shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift))
        return fail("it is too large");
    value <<= shift;
    if (value == 0)
        return fail("it must be greater than zero");
    return value;
}

std::string format_size(std::uint64_t bytes)
{
    static constexpr const char* units[] = {"", "K", "M", "G", "T", "P", "E"};
    int u = 0;
    double v = static_cast<double>(bytes);
    while (v >= 1024 && u < 6) {
        v /= 1024;
        ++u;
    }
    if (u == 0)
        return fmt::format("{}", bytes);
    if (v == static_cast<double>(static_cast<std::uint64_t>(v)))
        return fmt::format("{}{}", static_cast<std::uint64_t>(v), units[u]);
    return fmt::format("{:.1f}{}", v, units[u]);
}

VolumeOptions VolumeOptions::parse(const std::map<std::string, std::string>& opts)
{
    VolumeOptions out;
    std::optional<bool> cow;
    // Names are matched case-insensitively, so "size" and "SIZE" are one option given twice:
    // taking either silently would set a limit the user did not ask for.
    std::map<std::string, std::string> seen;
    for (const auto& [key, value] : opts) {
        std::string k = lower(key);
        std::string canonical = k == "compress" ? "compression" : k;
        if (auto [it, fresh] = seen.emplace(canonical, key); !fresh)
            throw InvalidArgument(fmt::format("option '{}' given twice (as '{}' and '{}'; option names ignore case)",
                                              printable(canonical), printable(it->second), printable(key)));
        if (k == "copyonwrite" || k == "nocow") {
            bool v = parse_bool(key, value);
            bool want_cow = k == "copyonwrite" ? v : !v;
            if (cow && *cow != want_cow)
                throw InvalidArgument("options 'copyonwrite' and 'nocow' contradict each other");
            cow = want_cow;
        } else if (k == "compression" || k == "compress") {
            std::string v = lower(value);
            if (v == "zstd")
                out.compression = Compression::Zstd;
            else if (v == "lzo")
                out.compression = Compression::Lzo;
            else if (v == "zlib")
                out.compression = Compression::Zlib;
            else if (v == "none" || v == "no" || v == "false")
                out.compression = Compression::None;
            else
                throw InvalidArgument(fmt::format(
                    "invalid value '{}' for option 'compression': use zstd, lzo, zlib or none", printable(value)));
        } else if (k == "size") {
            out.size_limit = parse_size(value);
        } else if (k == "from") {
            auto at = value.find('@');
            check_volume_name(std::string_view(value).substr(0, at));
            if (at != std::string::npos && at + 1 == value.size())
                throw InvalidArgument(fmt::format("invalid value '{}' for option 'from': "
                                                  "use <volume> or <volume>@<timestamp>",
                                                  printable(value)));
            out.from = value;
        } else if (k == "ephemeral") {
            // Only the two words: this option decides whether data is thrown away.
            std::string v = lower(value);
            if (v != "true" && v != "false")
                throw InvalidArgument(
                    fmt::format("invalid value '{}' for option 'ephemeral': use true or false", value));
            out.ephemeral = v == "true";
        } else {
            throw InvalidArgument(fmt::format("unknown volume option '{}': valid options are {}", printable(key),
                                                          valid_keys));
        }
    }
    if (cow)
        out.copy_on_write = *cow;
    // btrfs refuses the compression property on a no-COW inode (EINVAL): say so up front.
    if (!out.copy_on_write && out.compression && *out.compression != Compression::None)
        throw InvalidArgument(fmt::format("option 'compression={}' cannot be combined with 'copyonwrite=false': "
                                          "btrfs does not compress no-copy-on-write files",
                                          to_string(*out.compression)));
    if (out.from && (!out.copy_on_write || out.compression))
        throw InvalidArgument("option 'from' cannot be combined with 'copyonwrite' or 'compression': "
                              "a clone keeps the attributes of its source");
    if (out.ephemeral && !out.from)
        throw InvalidArgument("option 'ephemeral=true' needs 'from=<volume>' or 'from=<volume>@<timestamp>': "
                              "the source each first mount clones");
    return out;
}

VolumeOptions VolumeOptions::parse_pairs(const std::vector<std::string>& pairs)
{
    std::map<std::string, std::string> opts;
    for (const auto& pair : pairs) {
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            throw InvalidArgument(fmt::format("invalid option '{}': use key=value (valid keys: {})", printable(pair),
                                                      valid_keys));
        std::string key = pair.substr(0, eq);
        if (!opts.emplace(key, pair.substr(eq + 1)).second)
            throw InvalidArgument(fmt::format("option '{}' given twice", printable(key)));
    }
    return parse(opts);
}

VolumeOptions Volume::options() const
{
    VolumeOptions o;
    o.copy_on_write = copy_on_write;
    o.compression = compression;
    o.size_limit = size_limit;
    if (ephemeral_source) {
        o.from = ephemeral_source;
        o.ephemeral = true;
    }
    return o;
}

} // namespace buttervolume
