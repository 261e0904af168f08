// SPDX-License-Identifier: Apache-2.0
// A private Podman (tests/e2e/podman.sh) whose volume plugin "btrfs" is the plugin under test.
#include "podman_env.hpp"

#include <fmt/format.h>

#include <memory>
#include <stdexcept>

namespace buttervolume::test {

PodmanEnv::PodmanEnv(DockerEnv& plugin)
    : plugin_(plugin)
{
}

PodmanEnv& PodmanEnv::with_plugin()
{
    static std::unique_ptr<PodmanEnv> env;
    if (!env) {
        std::unique_ptr<PodmanEnv> e(new PodmanEnv(DockerEnv::plugin_only()));
        e->podman_ok({"setup"});
        e->podman_ok({"import-busybox"});
        env = std::move(e);
    }
    return *env;
}

RunResult PodmanEnv::podman(const std::vector<std::string>& args) const
{
    std::vector<std::string> argv{"sh", std::string(BV_E2E_SCRIPTS) + "/podman.sh"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

std::string PodmanEnv::podman_ok(const std::vector<std::string>& args) const
{
    RunResult r = podman(args);
    if (r.status != 0) {
        std::string line = "podman";
        for (const auto& a : args)
            line += " " + a;
        throw std::runtime_error(fmt::format("'{}' failed ({}): {}{}", line, r.status, r.out, r.err));
    }
    return chomp(r.out);
}

} // namespace buttervolume::test
