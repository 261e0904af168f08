// SPDX-License-Identifier: Apache-2.0
// The seed's privileged container: the image from packaging/container serving the host's Docker.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

const std::string image = "buttervolume-e2e:latest";
const fs::path socket_path = "/run/docker/plugins/btrfs.sock";

void build_image(DockerEnv& env)
{
    static bool built = false;
    if (built)
        return;
    const char* cli = std::getenv("BV_E2E_DOCKER");
    RunResult r = run({"sh", std::string(BV_SOURCE_ROOT) + "/packaging/container/build.sh", "--binary",
                       buttervolume_bin(), "--tag", image},
                      {std::string("DOCKER=") + (cli ? cli : "docker")});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    REQUIRE(env.docker_ok({"image", "inspect", "--format", "{{json .Config.Entrypoint}}", image}) ==
            R"(["/usr/bin/buttervolume","run"])");
    built = true;
}

// Waits until the daemon in the container answers on the legacy socket.
void wait_for_plugin(DockerEnv& env, const std::string& container)
{
    for (int i = 0; i < 100; ++i) {
        if (fs::exists(socket_path) && env.plugin_call("/Plugin.Activate", "{}").http_status == 200)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the container's buttervolume run did not answer on " << socket_path.native() << "; its log:\n"
                                                               << env.docker({"logs", container}).err);
}

// The README's command, with root bound at its own path (the Mountpoint Docker mounts).
void start_container(DockerEnv& env, const std::string& name, const fs::path& root)
{
    REQUIRE_FALSE(fs::exists(socket_path)); // no other plugin daemon in this engine's namespace
    const std::vector<std::string> binds{"-e", "BUTTERVOLUME_ROOT=" + root.native(), "-v",
                                         root.native() + ":" + root.native(), "-v",
                                         "/run/docker/plugins:/run/docker/plugins", image};
    std::vector<std::string> args{"run", "-d", "--name", name, "--privileged"};
    args.insert(args.end(), binds.begin(), binds.end());
    RunResult r = env.docker(args);
    if (r.status != 0 && r.err.find("unable to apply caps") != std::string::npos) {
        // A machine that itself runs in a container may lack a capability in its bounding set
        // (here CAP_SYS_RESOURCE), and runc then refuses --privileged. Every capability it has
        // and no seccomp filter is the nearest grant; the plugin needs only CAP_SYS_ADMIN.
        WARN("--privileged refused by this machine (" << chomp(r.err) << "): running with --cap-add ALL");
        env.docker_ok({"rm", "-f", name});
        args = {"run", "-d", "--name", name, "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt",
                "seccomp=unconfined", "--security-opt", "apparmor=unconfined"};
        args.insert(args.end(), binds.begin(), binds.end());
        r = env.docker(args);
    }
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    wait_for_plugin(env, name);
}

void write_file(const fs::path& path, const std::string& text)
{
    std::ofstream(path) << text;
}

} // namespace

TEST_CASE("e2e container: the image from packaging/container serves the host's Docker as driver btrfs", "[container]")
{
    DockerEnv& env = DockerEnv::engine();
    build_image(env);
    start_container(env, "bv-seed", env.pool());

    env.docker_ok({"volume", "create", "-d", "btrfs", "-o", "size=32M", "cv"});
    REQUIRE(fs::exists(env.volume_path("cv")));
    env.docker_ok({"run", "--rm", "-v", "cv:/d", "busybox", "sh", "-c", "echo seed > /d/f"});
    CHECK(read_text(env.volume_path("cv") / "f") == "seed\n");
    RunResult full = env.docker({"run", "--rm", "-v", "cv:/d", "busybox", "dd", "if=/dev/urandom", "of=/d/big",
                                 "bs=1M", "count=64", "conv=fsync"});
    CHECK(full.status != 0);
    CHECK(full.err.find("Disk quota exceeded") != std::string::npos);
    CHECK(env.docker_ok({"volume", "inspect", "--format", "{{.Driver}} {{.Mountpoint}}", "cv"}) ==
          "btrfs " + env.volume_path("cv").native());

    // The CLI inside the container, on the same pool.
    std::string snap = env.docker_ok({"exec", "bv-seed", "buttervolume", "snapshot", "cv"});
    CHECK(snap.starts_with("cv@"));
    CHECK(fs::exists(env.pool() / "snapshots" / snap / "f"));
    CHECK(env.docker_ok({"exec", "bv-seed", "buttervolume", "volumes"}).find("cv") != std::string::npos);

    std::string c = env.docker_ok({"run", "-d", "-v", "cv:/d", "busybox", "sleep", "300"});
    CHECK(env.docker({"volume", "rm", "cv"}).status != 0);
    env.docker_ok({"rm", "-f", c});
    env.docker_ok({"volume", "rm", "cv"});
    CHECK_FALSE(fs::exists(env.volume_path("cv")));

    // docker stop sends SIGTERM: the daemon finishes and removes its socket.
    env.docker_ok({"stop", "-t", "20", "bv-seed"});
    CHECK(env.docker_ok({"inspect", "--format", "{{.State.ExitCode}}", "bv-seed"}) == "0");
    CHECK_FALSE(fs::exists(socket_path));
    env.docker_ok({"rm", "bv-seed"});
}

TEST_CASE("e2e container: --root in Docker's own volume directory, beside its local volumes", "[container]")
{
    DockerEnv& env = DockerEnv::engine();
    build_image(env);
    // This engine's /var/lib/docker/volumes (its data root is on a loop btrfs).
    const fs::path root = env.dir() / "data" / "volumes";
    env.docker_ok({"volume", "create", "lv"});
    env.docker_ok({"run", "--rm", "-v", "lv:/d", "busybox", "sh", "-c", "echo local > /d/f"});

    start_container(env, "bv-root", root);
    // Made with the CLI in the container, so that Docker's own database does not hold it: a
    // dockerd that starts with a volume of a legacy plugin that is not up yet (ours is a
    // container of that dockerd) waits some 20 s for the plugin, which is not what this tests.
    env.docker_ok({"exec", "bv-root", "buttervolume", "create", "bv"});
    write_file(root / "volumes" / "bv" / "f", "ours\n");
    CHECK(read_text(root / "lv" / "_data" / "f") == "local\n");

    // Docker's local driver adopts every folder of its volume directory when it starts.
    env.engine_command("stop-dockerd");
    env.engine_command("start-dockerd");
    env.docker_ok({"start", "bv-root"});
    wait_for_plugin(env, "bv-root");
    std::vector<std::string> listed = env.docker_volumes();
    CHECK(contains(listed, "local lv"));
    CHECK(contains(listed, "btrfs bv"));
    CHECK(contains(listed, "local volumes")); // our folder, seen as a local volume
    CHECK(env.docker_ok({"run", "--rm", "-v", "lv:/d", "busybox", "cat", "/d/f"}) == "local");

    // Removing or pruning that "local volume" must not delete our volumes with it.
    RunResult rm = env.docker({"volume", "rm", "volumes"});
    CHECK(rm.status != 0);
    CHECK(rm.err.find("outside of the local volume root") != std::string::npos);
    env.docker_ok({"volume", "prune", "-f"});
    for (const char* d : {"volumes", "snapshots", "config", "state"})
        CHECK(fs::is_symlink(root / d / "_data"));
    CHECK(read_text(root / "volumes" / "bv" / "f") == "ours\n");
    CHECK(env.docker_ok({"run", "--rm", "-v", "bv:/d", "busybox", "cat", "/d/f"}) == "ours");
    CHECK(contains(env.docker_volumes(), "btrfs bv"));

    env.docker_ok({"volume", "rm", "bv"});
    env.docker_ok({"stop", "-t", "20", "bv-root"});
    env.docker_ok({"rm", "bv-root"});
}
