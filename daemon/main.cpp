// SPDX-License-Identifier: Apache-2.0
// buttervolume: the Docker volume plugin daemon (`run`) and the command-line interface.
#include "cli/command.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/version.hpp>

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <cerrno>
#include <cstdlib>

namespace cli = buttervolume::cli;

namespace {

std::vector<cli::Command> all_commands()
{
    std::vector<cli::Command> cmds;
    cli::add_init_command(cmds);
    cli::add_volume_commands(cmds);
    cli::add_stream_commands(cmds);
    cli::add_run_command(cmds);
    cli::add_snapshot_commands(cmds);
    cli::add_replication_commands(cmds);
    cli::add_serve_ssh_commands(cmds);
    cli::add_schedule_commands(cmds);
    cli::add_status_command(cmds);
    // Options every command accepts.
    for (auto& c : cmds) {
        c.options.push_back({"root", 0, "DIR", "pool root (env BUTTERVOLUME_ROOT, default /var/lib/buttervolume)"});
        c.options.push_back({"help", 'h', "", "show this help"});
    }
    return cmds;
}

std::string main_help(const std::vector<cli::Command>& cmds)
{
    std::string out = "usage: buttervolume [--root DIR] COMMAND [ARGS...]\n\n"
                      "btrfs volumes for Docker: every volume its own subvolume, with snapshots,\n"
                      "restore, clone, size limits and replication.\n\ncommands:\n";
    for (const auto& c : cmds)
        out += fmt::format("  {:<12} {}\n", c.name, c.summary);
    out += "\nglobal options:\n"
           "  --root DIR     pool root (env BUTTERVOLUME_ROOT, default /var/lib/buttervolume)\n"
           "  --version      print the version\n"
           "  -h, --help     show this help\n\n"
           "Run 'buttervolume COMMAND --help' for a command's options.\n"
           "Exit status: 0 success, 1 the operation failed, 2 bad usage.\n";
    return out;
}

// Root: --root, then BUTTERVOLUME_ROOT, then the default; the Python project's
// BUTTERVOLUME_VOLUMES_PATH / BUTTERVOLUME_SNAPSHOTS_PATH still move those two folders.
buttervolume::PoolPaths resolve_paths(const std::optional<std::string>& root_opt)
{
    std::filesystem::path root = buttervolume::default_root();
    if (root_opt)
        root = *root_opt;
    else if (const char* env = std::getenv("BUTTERVOLUME_ROOT"); env && *env)
        root = env;
    auto paths = buttervolume::PoolPaths::under(root);
    if (const char* v = std::getenv("BUTTERVOLUME_VOLUMES_PATH"); v && *v)
        paths.volumes = v;
    if (const char* s = std::getenv("BUTTERVOLUME_SNAPSHOTS_PATH"); s && *s)
        paths.snapshots = s;
    // Docker needs an absolute Mountpoint, and serve-ssh compares absolute paths.
    for (auto* p : {&paths.root, &paths.volumes, &paths.snapshots, &paths.config, &paths.state})
        *p = std::filesystem::absolute(*p).lexically_normal();
    return paths;
}

int run_cli(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    auto cmds = all_commands();
    std::optional<std::string> root;
    std::size_t i = 0;
    try {
        for (; i < args.size() && args[i].starts_with("-"); ++i) {
            const std::string& a = args[i];
            if (a == "--help" || a == "-h") {
                fmt::print("{}", main_help(cmds));
                return 0;
            } else if (a == "--version") {
                fmt::print("buttervolume {}\n", BUTTERVOLUME_VERSION);
                return 0;
            } else if (a == "--root" && i + 1 < args.size()) {
                root = args[++i];
            } else if (a.starts_with("--root=")) {
                root = a.substr(7);
            } else {
                throw cli::UsageError(fmt::format("unknown option '{}'", cli::printable(a)));
            }
        }
        if (i == args.size())
            throw cli::UsageError("no command given");
        const std::string& name = args[i];
        if (name == "help") {
            fmt::print("{}", main_help(cmds));
            return 0;
        }
        const cli::Command* cmd = nullptr;
        for (const auto& c : cmds)
            if (c.name == name)
                cmd = &c;
        if (!cmd)
            throw cli::UsageError(fmt::format("unknown command '{}'", cli::printable(name)));
        try {
            cli::Args parsed = cli::parse_args(*cmd, std::vector<std::string>(args.begin() + i + 1, args.end()));
            if (parsed.flag("help")) {
                fmt::print("{}", cli::command_help(*cmd));
                return 0;
            }
            if (auto r = parsed.value("root"))
                root = r;
            cli::Context ctx{resolve_paths(root)};
            return cmd->run(ctx, parsed);
        } catch (const cli::UsageError& e) {
            cli::write_stderr(fmt::format("buttervolume {}: {}\nRun 'buttervolume {} --help' for usage.\n", name,
                                          e.what(), name));
            return 2;
        }
    } catch (const cli::UsageError& e) {
        cli::write_stderr(fmt::format("buttervolume: {}\nRun 'buttervolume --help' for usage.\n", e.what()));
        return 2;
    } catch (const std::exception& e) {
        // fmt::print throws when stdout fails while a command prints.
        if (std::ferror(stdout))
            cli::write_stderr(fmt::format("buttervolume: write to stdout failed: {}\n", e.what()));
        else
            cli::write_stderr(fmt::format("buttervolume: {}\n", e.what()));
        return 1;
    }
}

} // namespace

int main(int argc, char** argv)
{
    // A closed pipe (`buttervolume volumes | head`) must give an error, not kill us mid-write.
    std::signal(SIGPIPE, SIG_IGN);
    int status = run_cli(argc, argv);
    // What a script reads from stdout (the name `snapshot` printed) is part of the result:
    // losing it is a failure, whatever the command did.
    if (!cli::flush_stdout()) {
        cli::write_stderr(fmt::format("buttervolume: write to stdout failed: {}\n", std::strerror(errno)));
        return status == 0 ? 1 : status;
    }
    return status;
}
