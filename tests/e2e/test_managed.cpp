// SPDX-License-Identifier: Apache-2.0
// The managed plugin: assembled by packaging/plugin/build.sh, created from the local folder,
// enabled, and serving volumes.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <cstdlib>

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("e2e managed: the plugin from packaging/plugin is created, enabled and serves volumes", "[managed]")
{
    // The engine alone: the managed plugin gets the pool, not a legacy socket.
    DockerEnv& env = DockerEnv::engine();
    const std::string plugin = "buttervolume-e2e:latest";
    const char* cli = std::getenv("BV_E2E_DOCKER");
    RunResult built = run({"sh", std::string(BV_SOURCE_ROOT) + "/packaging/plugin/build.sh", "--binary",
                           buttervolume_bin(), "--name", plugin, "--dir", (env.dir() / "managed").native()},
                          {std::string("DOCKER=") + (cli ? cli : "docker")});
    INFO(built.out << built.err);
    REQUIRE(built.status == 0);
    CHECK(env.docker_ok({"plugin", "inspect", "--format", "{{.Enabled}} {{.Config.Interface.Socket}}", plugin}) ==
          "false btrfs.sock");

    env.docker_ok({"plugin", "set", plugin, "root.source=" + env.pool().native()});
    env.docker_ok({"plugin", "enable", plugin});
    CHECK(env.docker_ok({"plugin", "inspect", "--format", "{{.Enabled}}", plugin}) == "true");

    env.docker_ok({"volume", "create", "-d", plugin, "-o", "size=32M", "mv"});
    CHECK(fs::exists(env.volume_path("mv")));
    env.docker_ok({"run", "--rm", "-v", "mv:/d", "busybox", "sh", "-c", "echo managed > /d/f"});
    CHECK(read_text(env.volume_path("mv") / "f") == "managed\n");
    // The size limit holds: CAP_SYS_ADMIN is enough for the plugin's qgroup ioctls.
    RunResult full = env.docker({"run", "--rm", "-v", "mv:/d", "busybox", "dd", "if=/dev/urandom", "of=/d/big",
                                 "bs=1M", "count=64", "conv=fsync"});
    CHECK(full.status != 0);
    CHECK(full.err.find("Disk quota exceeded") != std::string::npos);
    CHECK(env.docker_ok({"run", "--rm", "-v", "mv:/d", "busybox", "cat", "/d/f"}) == "managed");
    // The plugin answers with its own path; Docker mounts it from the plugin's propagated mount.
    CHECK(env.docker_ok({"volume", "inspect", "--format", "{{.Driver}} {{.Mountpoint}}", "mv"}) ==
          plugin + " /var/lib/buttervolume/volumes/mv");
    // The pool bound over the plugin's PropagatedMount reached the host side of it.
    std::string id = env.docker_ok({"plugin", "inspect", "--format", "{{.Id}}", plugin});
    CHECK(read_text(env.dir() / "data/plugins" / id / "propagated-mount/volumes/mv/f") == "managed\n");
    std::string c = env.docker_ok({"run", "-d", "-v", "mv:/d", "busybox", "sleep", "300"});
    CHECK(env.docker({"volume", "rm", "mv"}).status != 0);
    env.docker_ok({"rm", "-f", c});
    CHECK(contains(env.docker_volumes(), plugin + " mv"));

    env.docker_ok({"volume", "rm", "mv"});
    CHECK_FALSE(fs::exists(env.volume_path("mv")));
    env.docker_ok({"plugin", "disable", plugin});
    env.docker_ok({"plugin", "rm", plugin});
}
