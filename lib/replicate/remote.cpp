// SPDX-License-Identifier: Apache-2.0
// Remote: HOST parsing, the settings' order of precedence, and the ssh command line.
#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <sys/stat.h>

#include <charconv>
#include <cstdlib>

namespace buttervolume {

namespace {

bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

std::optional<std::uint16_t> parse_port(std::string_view text)
{
    unsigned v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

// Every part goes to ssh as its own argv entry, but ssh would still read "-oProxyCommand=..."
// as an option, and a config alias may not contain characters a shell would care about.
void check_part(std::string_view spec, std::string_view part, std::string_view role)
{
    if (part.empty())
        throw InvalidArgument(fmt::format("host '{}': empty {}", spec, role));
    if (part.front() == '-')
        throw InvalidArgument(fmt::format("host '{}': the {} may not start with '-'", spec, role));
    for (char c : part)
        if (!host_char(c))
            throw InvalidArgument(fmt::format("host '{}': the {} may only hold letters, digits, '.', '-' and '_'",
                                              spec, role));
}

} // namespace

Remote Remote::parse(std::string_view spec, RemoteSettings settings)
{
    if (spec.empty())
        throw InvalidArgument("host '': empty host name");
    if (spec.size() > 255)
        throw InvalidArgument(fmt::format("host '{}...': longer than 255 characters", spec.substr(0, 32)));
    Remote r;
    r.spec = std::string(spec);
    r.settings = std::move(settings);
    std::string_view rest = spec;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        r.user = std::string(rest.substr(0, at));
        check_part(spec, *r.user, "user name");
        rest.remove_prefix(at + 1);
    }
    if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        auto port = parse_port(rest.substr(colon + 1));
        if (!port)
            throw InvalidArgument(fmt::format("host '{}': port '{}' is not a number in 1..65535", spec,
                                              rest.substr(colon + 1)));
        r.port = port;
        rest = rest.substr(0, colon);
    }
    check_part(spec, rest, "host name");
    r.host = std::string(rest);
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
    if (!flags.ssh_config) {
        auto own = paths.root / "ssh" / "config";
        struct stat st;
        if (::stat(own.c_str(), &st) == 0 && S_ISREG(st.st_mode))
            flags.ssh_config = own;
    }
    return flags;
}

} // namespace buttervolume
