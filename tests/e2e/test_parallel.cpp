// SPDX-License-Identifier: Apache-2.0
// Many containers at once on one volume: Mount and Unmount arrive concurrently.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("e2e parallel: 20 containers started together on one volume see the same data and exit cleanly",
          "[parallel]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    constexpr int n = 20;
    env.docker_ok({"volume", "create", "-d", "btrfs", "shared"});
    env.docker_ok({"run", "--rm", "-v", "shared:/d", "busybox", "sh", "-c", "echo seen-by-all > /d/marker"});

    std::vector<RunResult> results(n);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&, i] {
                results[i] = env.docker({"run", "--rm", "-v", "shared:/d", "busybox", "sh", "-c",
                                         "cat /d/marker && echo " + std::to_string(i) + " > /d/c" +
                                             std::to_string(i)});
            });
    }
    for (int i = 0; i < n; ++i) {
        INFO("container " << i << ": " << results[i].out << results[i].err);
        CHECK(results[i].status == 0);
        CHECK(results[i].out == "seen-by-all\n");
        CHECK(read_text(env.volume_path("shared") / ("c" + std::to_string(i))) == std::to_string(i) + "\n");
    }
    // Every Mount was matched by its Unmount: the plugin lets the volume go.
    CHECK(env.docker_ok({"ps", "-aq"}).empty());
    env.docker_ok({"volume", "rm", "shared"});
    CHECK_FALSE(fs::exists(env.volume_path("shared")));
}
