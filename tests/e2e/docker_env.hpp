// SPDX-License-Identifier: Apache-2.0
// The end-to-end environment: a private dockerd, the busybox image and the plugin under test.
#pragma once

#include "../integration/fixture.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace buttervolume::test {

/// One HTTP exchange with the plugin socket.
struct PluginReply {
    int http_status = 0;
    std::string body;
};

/// The Docker engine of this test process, started on first use by tests/e2e/engine.sh
/// inside the private namespace made by tests/e2e/private_ns.sh (main() re-executes the
/// suite there). Every test case of one process shares it: give volumes unique names.
class DockerEnv {
public:
    /// The engine with the busybox image; the plugin is not started. Throws on failure.
    static DockerEnv& engine();
    /// The engine with `buttervolume run` serving the driver "btrfs". Throws on failure.
    static DockerEnv& with_plugin();
    /// `buttervolume run` on its pool, without starting dockerd (for other clients such as
    /// Podman); engine() may still start it later. Throws on failure.
    static DockerEnv& plugin_only();
    /// The scratch directory with its data root and pool, starting nothing else.
    static DockerEnv& scratch();
    /// True once scratch() has succeeded (for the failure listener).
    static bool started();

    /// Runs the docker CLI against the private engine.
    RunResult docker(const std::vector<std::string>& args) const;
    /// Runs the docker CLI; throws std::runtime_error with its output unless it succeeds.
    /// Returns stdout without its trailing newline.
    std::string docker_ok(const std::vector<std::string>& args) const;
    /// Runs `buttervolume --root pool() args...` (the CLI on the plugin's pool).
    RunResult cli(const std::vector<std::string>& args) const;
    /// Runs an engine.sh command (start-plugin, stop-dockerd...); throws when it fails.
    void engine_command(const std::string& command) const;
    /// POSTs body to endpoint ("/VolumeDriver.Get") on the legacy plugin socket.
    PluginReply plugin_call(const std::string& endpoint, const std::string& body) const;

    /// The scratch directory of this run (BV_E2E_DIR).
    const std::filesystem::path& dir() const { return dir_; }
    /// The plugin's pool root (a loop-mounted btrfs of its own).
    std::filesystem::path pool() const { return dir_ / "pool"; }
    /// Where the plugin keeps volume name: pool()/volumes/name.
    std::filesystem::path volume_path(const std::string& name) const { return pool() / "volumes" / name; }
    /// Names from `docker volume ls` as "driver name" lines, sorted.
    std::vector<std::string> docker_volumes() const;
    /// The last lines of the dockerd and plugin logs.
    std::string logs() const;
    /// The whole dockerd log so far.
    std::string dockerd_log() const;

private:
    DockerEnv();
    void start_plugin();
    std::filesystem::path dir_;
    std::filesystem::path scripts_;
    bool dockerd_running_ = false;
    bool plugin_running_ = false;
};

/// Text without trailing newlines and spaces.
std::string chomp(std::string s);
/// The contents of a file; throws std::runtime_error when it cannot be read.
std::string read_text(const std::filesystem::path& path);
/// True when v holds s.
bool contains(const std::vector<std::string>& v, const std::string& s);

} // namespace buttervolume::test
