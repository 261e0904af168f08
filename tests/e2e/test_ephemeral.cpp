// SPDX-License-Identifier: Apache-2.0
// Ephemeral volumes through the docker CLI: every run starts from the source, writes vanish.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <chrono>
#include <fstream>
#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// Waits up to 30 s for path to exist.
bool appears(const fs::path& path)
{
    for (int i = 0; i < 300 && !fs::exists(path); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return fs::exists(path);
}

void write_file(const fs::path& path, const std::string& text)
{
    std::ofstream(path) << text;
}

} // namespace

// One case, in the [volumes] engine: a dockerd of its own would cost more than the checks. The
// source is written from the host, so that every container run is one the check needs.
TEST_CASE("e2e ephemeral: containers in sequence, at once and across a plugin restart start from the source",
          "[volumes][ephemeral]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "prod"});
    write_file(env.volume_path("prod") / "f", "production\n");
    env.docker_ok({"volume", "create", "-d", "btrfs", "-o", "from=prod", "-o", "ephemeral=true", "qa"});
    const std::string status = env.docker_ok({"volume", "inspect", "--format", "{{json .Status}}", "qa"});
    INFO("Status: " << status);
    CHECK(status.find(R"("Ephemeral":true)") != std::string::npos);
    CHECK(status.find(R"("Source":"prod")") != std::string::npos);
    // What a container sees of the volume: f and the names in it.
    const std::vector<std::string> look = {"run", "--rm", "-v", "qa:/d", "busybox", "sh", "-c", "cat /d/f; ls /d"};

    // In sequence: the second container sees the source, not what the first wrote.
    env.docker_ok({"run", "--rm", "-v", "qa:/d", "busybox", "sh", "-c", "echo scribbled > /d/f; echo x > /d/left"});
    CHECK(env.docker_ok(look) == "production\nf");
    CHECK(read_text(env.volume_path("prod") / "f") == "production\n");

    // At once: a second container shares the running one's clone.
    env.docker_ok({"run", "-d", "--name", "qa-holder", "-v", "qa:/d", "busybox", "sh", "-c",
                   "echo from-holder > /d/held; exec sleep 300"});
    REQUIRE(appears(env.volume_path("qa") / "held"));
    // The plugin restarted in between (killed: a clean stop waits out Docker's keep-alive
    // connection, and the state is on disk either way): it still counts the holder's mount and
    // still knows the volume is ephemeral.
    env.engine_command("kill-plugin");
    env.engine_command("start-plugin");
    CHECK(env.docker_ok({"run", "--rm", "-v", "qa:/d", "busybox", "cat", "/d/held"}) == "from-holder");
    // Once both are gone, so is what they wrote; the next container starts from the source as
    // it is now.
    write_file(env.volume_path("prod") / "f", "release-2\n");
    env.docker_ok({"rm", "-f", "qa-holder"});
    CHECK_FALSE(fs::exists(env.volume_path("qa") / "held"));
    CHECK(env.docker_ok(look) == "release-2\nf");

    // The source removed: the container does not start, with the plugin's reason, and the
    // volume keeps its content.
    env.docker_ok({"volume", "rm", "prod"});
    RunResult lost = env.docker({"run", "--name", "qa-lost", "-v", "qa:/d", "busybox", "true"});
    INFO(lost.out << lost.err);
    env.docker({"rm", "-f", "qa-lost"});
    CHECK(lost.status != 0);
    CHECK(lost.err.find("mount volume 'qa': its source, volume 'prod', no longer exists") != std::string::npos);
    CHECK(read_text(env.volume_path("qa") / "f") == "release-2\n");

    CHECK(env.docker_ok({"ps", "-aq"}).empty());
    env.docker_ok({"volume", "rm", "qa"});
    CHECK_FALSE(fs::exists(env.volume_path("qa")));
}
