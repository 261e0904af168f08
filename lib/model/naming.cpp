// SPDX-License-Identifier: Apache-2.0
// Volume name rules: Docker's local-driver pattern, checked before any system call.
#include "base/printable.hpp"
#include "base/sys.hpp"

#include <buttervolume/names.hpp>

namespace buttervolume {

namespace {
bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string describe_char(unsigned char c)
{
    if (c < 0x20 || c == 0x7f)
        return fmt::format("control character 0x{:02x}", c);
    if (c >= 0x80)
        return fmt::format("non-ASCII byte 0x{:02x}", c);
    return fmt::format("'{}'", static_cast<char>(c));
}
} // namespace

std::optional<std::string> volume_name_problem(std::string_view name)
{
    if (name.empty())
        return "the name is empty";
    if (name.size() > max_volume_name_bytes)
        return fmt::format("the name is {} bytes long, the limit is {} (so that its snapshots' names, "
                           "<name>@<timestamp>, fit in 255 bytes)",
                           name.size(), max_volume_name_bytes);
    auto first = static_cast<unsigned char>(name.front());
    if (!is_alnum(first))
        return fmt::format("it must start with a letter or digit, not {}", describe_char(first));
    for (unsigned char c : name) {
        if (is_alnum(c) || c == '_' || c == '.' || c == '-')
            continue;
        if (c == '@')
            return "'@' separates a volume from a snapshot timestamp";
        if (c == '/')
            return "'/' is a path separator";
        return fmt::format("{} is not allowed (only letters, digits, '_', '.', '-')", describe_char(c));
    }
    return std::nullopt;
}

bool is_valid_volume_name(std::string_view name)
{
    return !volume_name_problem(name).has_value();
}

void check_volume_name(std::string_view name)
{
    if (auto why = volume_name_problem(name)) {
        // Shown with escapes so a hostile name cannot forge log lines or terminal output.
        std::string shown = printable(name);
        throw InvalidArgument(fmt::format("invalid volume name '{}': {}", shown, *why));
    }
}

} // namespace buttervolume
