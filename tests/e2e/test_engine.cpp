// SPDX-License-Identifier: Apache-2.0
// The harness itself: a private engine on its own btrfs, the busybox image, the local driver.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace buttervolume::test;

namespace {

// The filesystem type mounted exactly at path in this mount namespace, or "".
std::string mount_type_at(const std::string& path)
{
    std::ifstream in("/proc/self/mountinfo");
    std::string type;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, devno, root, mountpoint, field;
        f >> id >> parent >> devno >> root >> mountpoint;
        if (mountpoint != path)
            continue;
        while (f >> field && field != "-") {
        }
        f >> type; // the last mount there wins: it is the one on top
    }
    return type;
}

} // namespace

TEST_CASE("e2e engine: a private dockerd on its own btrfs runs busybox with local volumes", "[engine]")
{
    DockerEnv& env = DockerEnv::engine();
    // Plugin directories and containerd's are private tmpfs: nothing here meets another engine.
    CHECK(std::filesystem::is_empty("/run/docker/plugins")); // no socket of another plugin daemon
    CHECK(std::filesystem::is_empty("/etc/docker/plugins"));
    CHECK(mount_type_at("/run/docker") == "tmpfs");
    CHECK(mount_type_at("/etc/docker") == "tmpfs");
    CHECK(mount_type_at("/run/containerd") == "tmpfs");
    CHECK(env.docker_ok({"info", "--format", "{{.DockerRootDir}}"}) == (env.dir() / "data").native());
    CHECK(env.docker_ok({"info", "--format", "{{.Driver}}"}) == "btrfs");

    CHECK(env.docker_ok({"run", "--rm", "busybox", "echo", "hello"}) == "hello");
    env.docker_ok({"volume", "create", "local-e2e"});
    CHECK(env.docker_ok({"run", "--rm", "-v", "local-e2e:/d", "busybox", "sh", "-c", "echo kept > /d/f"}).empty());
    CHECK(env.docker_ok({"run", "--rm", "-v", "local-e2e:/d", "busybox", "cat", "/d/f"}) == "kept");
    CHECK(env.docker_ok({"volume", "inspect", "--format", "{{.Driver}} {{.Mountpoint}}", "local-e2e"}) ==
          "local " + (env.dir() / "data/volumes/local-e2e/_data").native());
    CHECK(read_text(env.dir() / "data/volumes/local-e2e/_data/f") == "kept\n");
    env.docker_ok({"volume", "rm", "local-e2e"});
}
