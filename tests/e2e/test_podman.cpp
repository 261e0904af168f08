// SPDX-License-Identifier: Apache-2.0
// Podman as a second client of the plugin: create, run, quota, ls/inspect, refused removal.
#include "../catch.hpp"
#include "podman_env.hpp"

using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("e2e podman: a volume created, used and removed through Podman lives in the pool", "[podman]")
{
    PodmanEnv& pm = PodmanEnv::with_plugin();
    DockerEnv& env = pm.plugin();

    pm.podman_ok({"volume", "create", "--driver", "btrfs", "-o", "size=64M", "pv"});
    REQUIRE(fs::exists(env.volume_path("pv")));
    pm.podman_ok({"run", "--rm", "-v", "pv:/data", "busybox", "sh", "-c", "echo from podman > /data/f"});
    CHECK(read_text(env.volume_path("pv") / "f") == "from podman\n");
    CHECK(pm.podman_ok({"run", "--rm", "-v", "pv:/data:ro", "busybox", "cat", "/data/f"}) == "from podman");
    // A non-root container user through the closed pool (its folders 0700).
    pm.podman_ok({"run", "--rm", "-v", "pv:/data", "busybox", "chmod", "1777", "/data"});
    CHECK(pm.podman_ok({"run", "--rm", "--user", "65534:65534", "-v", "pv:/data", "busybox", "sh", "-c",
                        "echo nobody > /data/n && cat /data/n"}) == "nobody");

    // The 64M limit set through Podman's -o holds inside its container.
    RunResult full = pm.podman({"run", "--rm", "-v", "pv:/data", "busybox", "dd", "if=/dev/urandom", "of=/data/big",
                                "bs=1M", "count=100", "conv=fsync"});
    CHECK(full.status != 0);
    CHECK(full.err.find("Disk quota exceeded") != std::string::npos);
    pm.podman_ok({"run", "--rm", "-v", "pv:/data", "busybox", "rm", "/data/big"});

    CHECK(pm.podman_ok({"volume", "ls", "--format", "{{.Driver}} {{.Name}}"}).find("btrfs pv") != std::string::npos);
    // Status comes from the plugin's Get: the size limit given at create, no mount yet.
    const std::string fmt = "{{.Driver}} {{.Status.SizeLimitHuman}} {{.Status.Mounts}} [{{.Mountpoint}}]";
    CHECK(pm.podman_ok({"volume", "inspect", "--format", fmt, "pv"}) == "btrfs 64M 0 []");

    // While a container holds the volume, neither Podman nor the plugin lets it go.
    std::string c = pm.podman_ok({"run", "-d", "-v", "pv:/data", "busybox", "sleep", "300"});
    // Podman shows a plugin volume's Mountpoint only while it is mounted.
    CHECK(pm.podman_ok({"volume", "inspect", "--format", fmt, "pv"}) ==
          "btrfs 64M 1 [" + env.volume_path("pv").native() + "]");
    RunResult busy = pm.podman({"volume", "rm", "pv"});
    CHECK(busy.status != 0);
    INFO(busy.err);
    CHECK(busy.err.find("being used") != std::string::npos);
    // Podman sends its container ID as the mount ID: the plugin counts the mount itself.
    PluginReply direct = env.plugin_call("/VolumeDriver.Remove", R"({"Name":"pv"})");
    CHECK(direct.http_status == 500);
    CHECK(direct.body.find("mounted") != std::string::npos);
    CHECK(fs::exists(env.volume_path("pv") / "f"));

    pm.podman_ok({"rm", "-f", "-t", "0", c});
    pm.podman_ok({"volume", "rm", "pv"});
    CHECK_FALSE(fs::exists(env.volume_path("pv")));
    CHECK(pm.podman_ok({"volume", "ls", "--format", "{{.Name}}"}).find("pv") == std::string::npos);
}

TEST_CASE("e2e podman: bad options are refused with the plugin's error and nothing is created", "[podman]")
{
    PodmanEnv& pm = PodmanEnv::with_plugin();
    RunResult bad = pm.podman({"volume", "create", "--driver", "btrfs", "-o", "colour=blue", "pbad"});
    CHECK(bad.status != 0);
    CHECK(bad.err.find("colour") != std::string::npos);
    CHECK_FALSE(fs::exists(pm.plugin().volume_path("pbad")));
    CHECK(pm.podman_ok({"volume", "ls", "--format", "{{.Name}}"}).find("pbad") == std::string::npos);
}
