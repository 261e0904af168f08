// SPDX-License-Identifier: Apache-2.0
// Argument parsing and --help text for every command: one table per command, no globals.
#include "cli/command.hpp"

#include <fmt/format.h>

namespace buttervolume::cli {

std::optional<std::string> Args::value(const std::string& name) const
{
    auto it = values.find(name);
    if (it == values.end() || it->second.empty())
        return std::nullopt;
    return it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const
{
    auto it = values.find(name);
    return it == values.end() ? std::vector<std::string>{} : it->second;
}

Pool& Context::pool()
{
    if (!pool_)
        pool_.emplace(paths);
    return *pool_;
}

namespace {
const OptionSpec* find_long(const Command& cmd, std::string_view name)
{
    for (const auto& o : cmd.options)
        if (o.name == name)
            return &o;
    return nullptr;
}

const OptionSpec* find_short(const Command& cmd, char c)
{
    for (const auto& o : cmd.options)
        if (o.short_name == c)
            return &o;
    return nullptr;
}
} // namespace

Args parse_args(const Command& cmd, const std::vector<std::string>& argv)
{
    Args args;
    bool only_positional = false;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (only_positional || a.size() < 2 || a[0] != '-') {
            args.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            only_positional = true;
            continue;
        }
        const OptionSpec* spec = nullptr;
        std::optional<std::string> inline_value;
        if (a[1] == '-') {
            std::string name = a.substr(2);
            if (auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name.resize(eq);
            }
            spec = find_long(cmd, name);
            if (!spec)
                throw UsageError(fmt::format("unknown option '--{}' for '{}'", name, cmd.name));
        } else {
            spec = find_short(cmd, a[1]);
            if (!spec)
                throw UsageError(fmt::format("unknown option '-{}' for '{}'", a[1], cmd.name));
            if (a.size() > 2)
                inline_value = a.substr(2);
        }
        auto& slot = args.values[spec->name];
        if (!slot.empty() && !spec->repeatable)
            throw UsageError(fmt::format("option '--{}' given twice", spec->name));
        if (spec->value_name.empty()) {
            if (inline_value)
                throw UsageError(fmt::format("option '--{}' takes no value", spec->name));
            slot.emplace_back();
        } else if (inline_value) {
            slot.push_back(*inline_value);
        } else if (i + 1 < argv.size()) {
            slot.push_back(argv[++i]);
        } else {
            throw UsageError(fmt::format("option '--{}' needs a value ({})", spec->name, spec->value_name));
        }
    }
    if (args.flag("help"))
        return args;
    if (args.positional.size() < cmd.min_positional)
        throw UsageError(fmt::format("'{}' needs {}", cmd.name, cmd.positional_usage));
    if (args.positional.size() > cmd.max_positional)
        throw UsageError(fmt::format("'{}' takes {} but got extra argument '{}'", cmd.name,
                                     cmd.positional_usage.empty() ? "no arguments" : cmd.positional_usage,
                                     printable(args.positional[cmd.max_positional])));
    return args;
}

std::string command_help(const Command& cmd)
{
    std::string out =
        fmt::format("usage: buttervolume {}{}{}{}\n\n{}\n", cmd.name, cmd.options.empty() ? "" : " [options]",
                    cmd.positional_usage.empty() ? "" : " ", cmd.positional_usage, cmd.summary);
    if (!cmd.description.empty())
        out += fmt::format("\n{}\n", cmd.description);
    out += "\noptions:\n";
    for (const auto& o : cmd.options) {
        std::string left =
            o.short_name ? fmt::format("-{}, --{}", o.short_name, o.name) : fmt::format("    --{}", o.name);
        if (!o.value_name.empty())
            left += " " + o.value_name;
        out += fmt::format("  {:<28} {}\n", left, o.help);
    }
    return out;
}

} // namespace buttervolume::cli
