// SPDX-License-Identifier: Apache-2.0
// Remote: HOST parsing, the settings' order of precedence, and the ssh command line.
#include "model/host_spec.hpp"
#include "session.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <buttervolume/error.hpp>

#include "base/config_ini.hpp"
#include "base/sys.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace buttervolume {

Remote Remote::parse(std::string_view spec, RemoteSettings settings)
{
    HostSpec parts = parse_host_spec(spec);
    Remote r;
    r.spec = std::string(spec);
    r.settings = std::move(settings);
    r.user = std::move(parts.user);
    r.host = std::move(parts.host);
    r.port = parts.port;
    return r;
}

std::vector<std::string> Remote::ssh_argv(std::string_view remote_command) const
{
    const RemoteSettings& s = settings;
    std::vector<std::string> argv{s.ssh_program, "-T", "-x", "-a", "-e", "none",
                                  "-o", "BatchMode=yes",
                                  "-o", fmt::format("ConnectTimeout={}", s.connect_timeout.count()),
                                  "-o", fmt::format("ServerAliveInterval={}", s.alive_interval.count()),
                                  "-o", fmt::format("ServerAliveCountMax={}", s.alive_count_max)};
    if (s.ssh_config) {
        argv.push_back("-F");
        argv.push_back(s.ssh_config->native());
    }
    if (s.identity) {
        argv.push_back("-i");
        argv.push_back(s.identity->native());
        argv.push_back("-o");
        argv.push_back("IdentitiesOnly=yes");
    }
    if (s.control_dir && s.control_persist && s.control_persist->count() > 0) {
        // %C: a hash of host, port and user, short enough for a socket path.
        argv.insert(argv.end(), {"-o", "ControlMaster=auto", "-o", fmt::format("ControlPath={}/%C", s.control_dir->native()),
                                 "-o", fmt::format("ControlPersist={}", s.control_persist->count())});
    }
    if (auto p = port ? port : s.port) {
        argv.push_back("-p");
        argv.push_back(std::to_string(*p));
    }
    if (user) {
        argv.push_back("-l");
        argv.push_back(*user);
    }
    argv.push_back("--");
    argv.push_back(host);
    argv.emplace_back(remote_command);
    return argv;
}

std::string Remote::trace_name() const
{
    return port ? fmt::format("{}:{}", host, *port) : host;
}

std::optional<std::chrono::seconds> parse_ssh_persist(std::string_view text)
{
    unsigned secs = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
    if (ec != std::errc() || end != text.data() + text.size() || secs > 86400)
        return std::nullopt;
    return std::chrono::seconds(secs);
}

namespace {

// BUTTERVOLUME_STALL_TIMEOUT, else config.ini's STALL_TIMEOUT (the daemon's other settings
// live there too), in the whole seconds of BUTTERVOLUME_SSH_PERSIST.
std::optional<std::chrono::seconds> configured_stall_timeout(const PoolPaths& paths)
{
    std::string text, where;
    if (const char* env = std::getenv("BUTTERVOLUME_STALL_TIMEOUT"); env && *env) {
        text = env;
        where = "BUTTERVOLUME_STALL_TIMEOUT";
    } else {
        auto ini = read_config_defaults(paths.config);
        auto it = ini.find("stall_timeout");
        if (it == ini.end())
            return std::nullopt;
        text = it->second;
        where = fmt::format("{} [DEFAULT] STALL_TIMEOUT", (paths.config / "config.ini").native());
    }
    auto secs = parse_ssh_persist(text);
    if (!secs)
        throw InvalidArgument(fmt::format("invalid {} '{}': seconds a transfer may move nothing, 0 to 86400 (0: "
                                          "never)",
                                          where, text));
    return secs;
}

} // namespace

namespace replication {

StallBound serve_stall_bound(const PoolPaths& paths)
{
    return {configured_stall_timeout(paths).value_or(default_stall_timeout), std::chrono::seconds(0)};
}

} // namespace replication

RemoteSettings resolve_remote_settings(RemoteSettings flags, const PoolPaths& paths)
{
    if (!flags.ssh_config)
        if (const char* env = std::getenv("BUTTERVOLUME_SSH_CONFIG"); env && *env)
            flags.ssh_config = env;
    if (!flags.port)
        if (const char* env = std::getenv("SSH_PORT"); env && *env) {
            flags.port = parse_port(env);
            if (!flags.port)
                throw InvalidArgument(fmt::format("SSH_PORT '{}' is not a port number in 1..65535", env));
        }
    if (!flags.control_persist)
        if (const char* env = std::getenv("BUTTERVOLUME_SSH_PERSIST"); env && *env) {
            flags.control_persist = parse_ssh_persist(env);
            if (!flags.control_persist)
                throw InvalidArgument(fmt::format("BUTTERVOLUME_SSH_PERSIST '{}' is not a number of seconds in 0..86400",
                                                  env));
        }
    if (!flags.stall_timeout)
        flags.stall_timeout = configured_stall_timeout(paths);
    if (flags.control_persist && flags.control_persist->count() > 0 && !flags.control_dir) {
        flags.control_dir = paths.state / "ssh";
        if (::mkdir(flags.control_dir->c_str(), 0700) != 0 && errno != EEXIST)
            throw_errno(fmt::format("create the ssh connection folder {}", flags.control_dir->native()));
    }
    if (!flags.ssh_config) {
        auto own = paths.root / "ssh" / "config";
        struct stat st;
        if (::stat(own.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            flags.ssh_config = own;
    }
    return flags;
}

} // namespace buttervolume
