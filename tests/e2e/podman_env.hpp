// SPDX-License-Identifier: Apache-2.0
// A private Podman (tests/e2e/podman.sh) whose volume plugin "btrfs" is the plugin under test.
#pragma once

#include "docker_env.hpp"

#include <string>
#include <vector>

namespace buttervolume::test {

/// Podman configured by podman.sh in this run's scratch directory, with the busybox image,
/// talking to `buttervolume run` on the private /run/docker/plugins/btrfs.sock. No dockerd.
class PodmanEnv {
public:
    /// The plugin started (DockerEnv::plugin_only) and Podman set up; throws on failure.
    static PodmanEnv& with_plugin();

    /// Runs podman with this run's configuration.
    RunResult podman(const std::vector<std::string>& args) const;
    /// Runs podman; throws std::runtime_error with its output unless it succeeds.
    /// Returns stdout without its trailing newline.
    std::string podman_ok(const std::vector<std::string>& args) const;
    /// The plugin's environment (pool, CLI, plugin socket).
    DockerEnv& plugin() const { return plugin_; }

private:
    explicit PodmanEnv(DockerEnv& plugin);
    DockerEnv& plugin_;
};

} // namespace buttervolume::test
