// SPDX-License-Identifier: Apache-2.0
// The end-to-end environment: a private dockerd, the busybox image and the plugin under test.
#include "docker_env.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace buttervolume::test {

namespace fs = std::filesystem;

namespace {

std::string env_or_throw(const char* name)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        throw std::runtime_error(fmt::format("{} is not set: run the suite through meson (tests/e2e)", name));
    return v;
}

std::unique_ptr<DockerEnv>& instance()
{
    static std::unique_ptr<DockerEnv> env;
    return env;
}

} // namespace

DockerEnv::DockerEnv()
    : dir_(env_or_throw("BV_E2E_DIR"))
    , scripts_(env_or_throw("BV_E2E_SCRIPTS"))
{
}

// The scratch directory with its loop-mounted data root and pool, made once per process.
DockerEnv& DockerEnv::scratch()
{
    auto& env = instance();
    if (!env) {
        // Not make_unique: the constructor is private.
        std::unique_ptr<DockerEnv> e(new DockerEnv);
        e->engine_command("setup");
        env = std::move(e);
    }
    return *env;
}

DockerEnv& DockerEnv::engine()
{
    DockerEnv& env = scratch();
    if (!env.dockerd_running_) {
        env.engine_command("start-dockerd");
        env.engine_command("import-busybox");
        env.dockerd_running_ = true;
    }
    return env;
}

DockerEnv& DockerEnv::with_plugin()
{
    DockerEnv& env = engine();
    env.start_plugin();
    return env;
}

DockerEnv& DockerEnv::plugin_only()
{
    DockerEnv& env = scratch();
    env.start_plugin();
    return env;
}

void DockerEnv::start_plugin()
{
    if (!plugin_running_) {
        engine_command("start-plugin");
        plugin_running_ = true;
    }
}

bool DockerEnv::started()
{
    return instance() != nullptr;
}

RunResult DockerEnv::docker(const std::vector<std::string>& args) const
{
    const char* cli = std::getenv("BV_E2E_DOCKER");
    std::vector<std::string> argv{cli ? cli : "docker"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

std::string DockerEnv::docker_ok(const std::vector<std::string>& args) const
{
    RunResult r = docker(args);
    if (r.status != 0) {
        std::string line = "docker";
        for (const auto& a : args)
            line += " " + a;
        throw std::runtime_error(fmt::format("'{}' failed ({}): {}{}", line, r.status, r.out, r.err));
    }
    return chomp(r.out);
}

RunResult DockerEnv::cli(const std::vector<std::string>& args) const
{
    std::vector<std::string> argv{buttervolume_bin(), "--root", pool().native()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

void DockerEnv::engine_command(const std::string& command) const
{
    RunResult r = run({"sh", (scripts_ / "engine.sh").native(), command});
    if (r.status != 0)
        throw std::runtime_error(fmt::format("engine.sh {} failed ({}): {}{}", command, r.status, r.out, r.err));
}

PluginReply DockerEnv::plugin_call(const std::string& endpoint, const std::string& body) const
{
    // The status code goes last, on a line of its own.
    RunResult r = run({"curl", "-sS", "--max-time", "60", "--unix-socket", "/run/docker/plugins/btrfs.sock",
                       "-X", "POST", "--data-binary", body, "-w", "\n%{http_code}", "http://plugin" + endpoint});
    if (r.status != 0)
        throw std::runtime_error(fmt::format("curl {} failed ({}): {}", endpoint, r.status, r.err));
    auto nl = r.out.rfind('\n');
    PluginReply reply;
    reply.http_status = std::stoi(r.out.substr(nl + 1));
    reply.body = r.out.substr(0, nl);
    return reply;
}

std::vector<std::string> DockerEnv::docker_volumes() const
{
    std::istringstream out(docker_ok({"volume", "ls", "--format", "{{.Driver}} {{.Name}}"}));
    std::vector<std::string> lines;
    for (std::string line; std::getline(out, line);)
        if (!line.empty())
            lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
}

std::string DockerEnv::logs() const
{
    return run({"sh", (scripts_ / "engine.sh").native(), "logs", "40"}).out;
}

std::string DockerEnv::dockerd_log() const
{
    return read_text(dir_ / "dockerd.log");
}

std::string chomp(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
        s.pop_back();
    return s;
}

std::string read_text(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(fmt::format("cannot read {}", path.native()));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool contains(const std::vector<std::string>& v, const std::string& s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace buttervolume::test
