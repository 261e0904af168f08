// SPDX-License-Identifier: Apache-2.0
// The command-line framework: command tables, argument parsing, and the context commands run in.
#pragma once

#include "common/terminal.hpp"

#include <buttervolume/pool.hpp>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace buttervolume::cli {

using common::flush_stdout;
using common::printable;
using common::write_stderr;

/// A usage error: printed with a pointer to --help, exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct OptionSpec {
    std::string name;       ///< long name without dashes: "json"
    char short_name = 0;    ///< 'o', or 0
    std::string value_name; ///< empty for a flag, else "KEY=VALUE"
    std::string help;
    bool repeatable = false;
};

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values;

    bool flag(const std::string& name) const { return values.count(name) != 0; }
    std::optional<std::string> value(const std::string& name) const;
    std::vector<std::string> all(const std::string& name) const;
};

struct Context;

struct Command {
    std::string name;
    std::string positional_usage; ///< "NAME", "[VOLUME]"
    std::string summary;          ///< one line for the command list
    std::string description;      ///< paragraphs for --help
    std::vector<OptionSpec> options;
    std::size_t min_positional = 0;
    std::size_t max_positional = 0;
    std::function<int(Context&, const Args&)> run;
};

/// What every command can use: the resolved pool paths, and the pool opened on demand.
struct Context {
    explicit Context(PoolPaths p) : paths(std::move(p)) {}
    PoolPaths paths;
    Pool& pool();

private:
    std::optional<Pool> pool_;
};

/// Parses argv for cmd (after the command name). Throws UsageError.
Args parse_args(const Command& cmd, const std::vector<std::string>& argv);

/// The --help text of cmd.
std::string command_help(const Command& cmd);

// The command groups, one file each.
void add_volume_commands(std::vector<Command>& out);
void add_init_command(std::vector<Command>& out);
void add_stream_commands(std::vector<Command>& out);
void add_run_command(std::vector<Command>& out);
void add_snapshot_commands(std::vector<Command>& out);
void add_replication_commands(std::vector<Command>& out);
void add_serve_ssh_commands(std::vector<Command>& out);
void add_schedule_commands(std::vector<Command>& out);
void add_status_command(std::vector<Command>& out);

} // namespace buttervolume::cli
