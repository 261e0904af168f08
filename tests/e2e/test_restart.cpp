// SPDX-License-Identifier: Apache-2.0
// Restarts: the plugin under a running container, and dockerd with volumes in its database.
#include "../catch.hpp"
#include "docker_env.hpp"

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("e2e restart: a plugin restarted under a running container takes its Unmount and keeps counts right",
          "[restart]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    // A clean stop (SIGTERM) and a crash (SIGKILL): the counts are on disk either way.
    const std::string how = GENERATE(as<std::string>{}, "stop-plugin", "kill-plugin");
    const std::string vol = "held-" + how, holder = "holder-" + how;
    env.docker_ok({"volume", "create", "-d", "btrfs", vol});
    env.docker_ok({"run", "-d", "--name", holder, "-v", vol + ":/d", "busybox", "sh", "-c",
                   "echo held > /d/f; exec sleep 300"});

    env.engine_command(how);
    env.engine_command("start-plugin");

    // The restarted plugin still counts the container's mount.
    PluginReply reply = env.plugin_call("/VolumeDriver.Remove", "{\"Name\":\"" + vol + "\"}");
    INFO(reply.body);
    CHECK(reply.http_status == 500);
    CHECK(fs::exists(env.volume_path(vol)));
    CHECK(env.docker_ok({"run", "--rm", "-v", vol + ":/d", "busybox", "cat", "/d/f"}) == "held");

    // Stopping the container sends Unmount with the ID the old plugin process counted.
    env.docker_ok({"rm", "-f", holder});
    CHECK(env.dockerd_log().find("VolumeDriver.Unmount: ") == std::string::npos);
    // Back to zero mounts: the plugin lets the volume go.
    env.docker_ok({"volume", "rm", vol});
    CHECK_FALSE(fs::exists(env.volume_path(vol)));
}

TEST_CASE("e2e restart: volumes keep their driver, labels, options and data across a dockerd restart", "[restart]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "--label", "team=qa", "--label", "tier=db", "-o", "size=32M",
                   "-o", "compression=zstd", "kept"});
    env.docker_ok({"run", "--rm", "-v", "kept:/d", "busybox", "sh", "-c", "echo before > /d/f"});
    const std::string format = "{{.Driver}} {{json .Labels}} {{json .Options}}";
    const std::string before = env.docker_ok({"volume", "inspect", "--format", format, "kept"});
    CHECK(before == R"(btrfs {"team":"qa","tier":"db"} {"compression":"zstd","size":"32M"})");

    env.engine_command("stop-dockerd");
    env.engine_command("start-dockerd");

    CHECK(env.docker_ok({"volume", "inspect", "--format", format, "kept"}) == before);
    CHECK(contains(env.docker_volumes(), "btrfs kept"));
    CHECK(env.docker_ok({"run", "--rm", "-v", "kept:/d", "busybox", "cat", "/d/f"}) == "before");
}
