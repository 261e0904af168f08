// SPDX-License-Identifier: Apache-2.0
// Volumes through the docker CLI: options, quota, inspect, implicit and anonymous volumes,
// listing, removal while in use, and bad input.
#include "../catch.hpp"
#include "docker_env.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <chrono>
#include <regex>
#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// The root directory of a btrfs subvolume has inode number 256 (BTRFS_FIRST_FREE_OBJECTID).
bool is_subvolume(const fs::path& p)
{
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == 256;
}

std::string compression_of(const fs::path& p)
{
    char buf[64];
    ssize_t n = ::getxattr(p.c_str(), "btrfs.compression", buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The name of the one volume mounted in a container.
std::string volume_of(DockerEnv& env, const std::string& container)
{
    return env.docker_ok({"inspect", "--format", "{{range .Mounts}}{{.Name}}{{end}}", container});
}

// Waits up to 30 s for cond.
template <typename F> bool eventually(F cond)
{
    for (int i = 0; i < 300; ++i) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return cond();
}

} // namespace

TEST_CASE("e2e volumes: a sized, compressed volume keeps a container's file in its own subvolume", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    CHECK(env.docker_ok({"volume", "create", "-d", "btrfs", "-o", "size=64M", "-o", "compression=zstd", "v1"}) == "v1");
    env.docker_ok({"run", "--rm", "-v", "v1:/data", "busybox", "sh", "-c", "echo hello > /data/hello.txt"});

    REQUIRE(is_subvolume(env.volume_path("v1")));
    CHECK(compression_of(env.volume_path("v1")) == "zstd");
    CHECK(read_text(env.volume_path("v1") / "hello.txt") == "hello\n");
    CHECK(env.docker_ok({"volume", "inspect", "--format", "{{.Driver}} {{.Mountpoint}} {{.Scope}}", "v1"}) ==
          "btrfs " + env.volume_path("v1").native() + " local");
}

TEST_CASE("e2e volumes: writing past the size limit fails inside the container with Disk quota exceeded",
          "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "-o", "size=64M", "-o", "compression=zstd", "vq"});
    // Under the limit: fine. Random bytes, so that compression cannot squeeze them under it.
    env.docker_ok({"run", "--rm", "-v", "vq:/data", "busybox", "dd", "if=/dev/urandom", "of=/data/small", "bs=1M",
                   "count=16", "conv=fsync"});
    RunResult r = env.docker({"run", "--rm", "-v", "vq:/data", "busybox", "dd", "if=/dev/urandom", "of=/data/big",
                              "bs=1M", "count=100", "conv=fsync"});
    INFO(r.out << r.err);
    CHECK(r.status != 0);
    CHECK(r.err.find("Disk quota exceeded") != std::string::npos);
    CHECK(fs::file_size(env.volume_path("vq") / "small") == 16u << 20);
    CHECK(fs::file_size(env.volume_path("vq") / "big") < 64u << 20);
}

TEST_CASE("e2e volumes: docker volume inspect shows the plugin's CreatedAt and Status", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "-o", "size=64M", "-o", "compression=zstd", "vi"});
    env.docker_ok({"run", "--rm", "-v", "vi:/data", "busybox", "dd", "if=/dev/urandom", "of=/data/f", "bs=1M",
                   "count=2", "conv=fsync"});

    std::string created = env.docker_ok({"volume", "inspect", "--format", "{{.CreatedAt}}", "vi"});
    INFO("CreatedAt: " << created);
    CHECK(std::regex_match(created, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d))")));

    std::string status = env.docker_ok({"volume", "inspect", "--format", "{{json .Status}}", "vi"});
    INFO("Status: " << status);
    CHECK(status.find(R"("CopyOnWrite":true)") != std::string::npos);
    CHECK(status.find(R"("Compression":"zstd")") != std::string::npos);
    CHECK(status.find(R"("SizeLimit":67108864)") != std::string::npos);
    CHECK(status.find(R"("Snapshots":0)") != std::string::npos);
    // Bytes used: at least the 2 MiB of random data written above.
    std::smatch used;
    REQUIRE(std::regex_search(status, used, std::regex(R"("SizeUsed":(\d+))")));
    CHECK(std::stoull(used[1]) >= 2u << 20);
}

TEST_CASE("e2e volumes: --volume-driver creates a named volume implicitly and --rm keeps it", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"run", "--rm", "--volume-driver", "btrfs", "-v", "implicit1:/d", "busybox", "sh", "-c",
                   "echo made > /d/f"});
    CHECK(env.docker_ok({"volume", "inspect", "--format", "{{.Driver}}", "implicit1"}) == "btrfs");
    REQUIRE(is_subvolume(env.volume_path("implicit1")));
    CHECK(read_text(env.volume_path("implicit1") / "f") == "made\n");
}

TEST_CASE("e2e volumes: docker rm -v and run --rm remove the plugin's anonymous volumes", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    const std::regex anonymous("[0-9a-f]{64}");

    SECTION("docker rm -v")
    {
        env.docker_ok({"run", "--name", "anon-rm-v", "--volume-driver", "btrfs", "-v", "/d", "busybox", "sh", "-c",
                       "echo a > /d/f"});
        std::string name = volume_of(env, "anon-rm-v");
        REQUIRE(std::regex_match(name, anonymous));
        CHECK(read_text(env.volume_path(name) / "f") == "a\n");
        CHECK(contains(env.docker_volumes(), "btrfs " + name));

        env.docker_ok({"rm", "-v", "anon-rm-v"});
        CHECK_FALSE(fs::exists(env.volume_path(name)));
        CHECK_FALSE(contains(env.docker_volumes(), "btrfs " + name));
    }
    SECTION("docker run --rm")
    {
        std::string id = env.docker_ok(
            {"run", "-d", "--rm", "--volume-driver", "btrfs", "-v", "/d", "busybox", "sh", "-c", "sleep 300"});
        std::string name = volume_of(env, id);
        REQUIRE(std::regex_match(name, anonymous));
        CHECK(is_subvolume(env.volume_path(name)));

        env.docker_ok({"kill", id});
        CHECK(eventually([&] { return env.docker({"inspect", id}).status != 0; }));
        CHECK(eventually([&] { return !fs::exists(env.volume_path(name)); }));
        CHECK_FALSE(contains(env.docker_volumes(), "btrfs " + name));
    }
}

TEST_CASE("e2e volumes: docker volume ls lists every volume of the plugin, made by Docker or not", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "ls1"});
    env.docker_ok({"volume", "create", "-d", "btrfs", "ls2"});
    // Made behind Docker's back: only the plugin's List can tell Docker about it.
    REQUIRE(env.cli({"create", "ls3"}).status == 0);
    auto listed = env.docker_volumes();
    CHECK(contains(listed, "btrfs ls1"));
    CHECK(contains(listed, "btrfs ls2"));
    CHECK(contains(listed, "btrfs ls3"));
}

TEST_CASE("e2e volumes: removing a volume in use is refused and its data stays", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "inuse"});
    env.docker_ok({"run", "-d", "--name", "inuse-holder", "-v", "inuse:/d", "busybox", "sh", "-c",
                   "echo keep > /d/f; exec sleep 300"});
    REQUIRE(eventually([&] { return fs::exists(env.volume_path("inuse") / "f"); }));

    RunResult r = env.docker({"volume", "rm", "inuse"});
    CHECK(r.status != 0);
    CHECK(r.err.find("in use") != std::string::npos);
    // Docker refuses before asking the plugin; the plugin refuses too when asked directly.
    PluginReply reply = env.plugin_call("/VolumeDriver.Remove", R"({"Name":"inuse"})");
    INFO(reply.body);
    CHECK(reply.http_status == 500);
    CHECK(reply.body.find("\"Err\"") != std::string::npos);
    CHECK(reply.body.find("inuse") != std::string::npos);
    CHECK(read_text(env.volume_path("inuse") / "f") == "keep\n");
    CHECK(contains(env.docker_volumes(), "btrfs inuse"));

    env.docker_ok({"rm", "-f", "inuse-holder"});
    env.docker_ok({"volume", "rm", "inuse"});
    CHECK_FALSE(fs::exists(env.volume_path("inuse")));
}

TEST_CASE("e2e volumes: unknown options and bad names give a clear error and leave nothing behind", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "bad-input-witness"});
    const auto docker_before = env.docker_volumes();
    const auto pool_before = tree_listing(env.pool());

    struct Case {
        std::vector<std::string> args;
        std::string named; // the error must name this
    };
    const std::vector<Case> cases = {
        {{"-o", "bogus=1", "badopt"}, "bogus"},
        {{"-o", "size=lots", "badsize"}, "lots"},
        {{"-o", "compression=brotli", "badcomp"}, "brotli"},
        {{"-o", "copyonwrite=false", "-o", "compression=zstd", "badcombo"}, "badcombo"},
        {{"bad@name"}, "bad@name"},
        {{".hidden"}, ".hidden"},
        {{"../escape"}, "../escape"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"volume", "create", "-d", "btrfs"};
        args.insert(args.end(), c.args.begin(), c.args.end());
        RunResult r = env.docker(args);
        INFO(c.args.back() << ": " << r.out << r.err);
        CHECK(r.status != 0);
        CHECK(r.err.find("VolumeDriver.Create") != std::string::npos);
        CHECK(r.err.find(c.named) != std::string::npos);
    }
    CHECK(env.docker_volumes() == docker_before);
    // Not a file more or less anywhere in the pool (volumes, temporary names, state, locks).
    CHECK(tree_listing(env.pool()) == pool_before);
    CHECK_FALSE(fs::exists(env.pool() / "escape"));
}

TEST_CASE("e2e volumes: a container running as a non-root user uses a volume of the closed pool", "[volumes]")
{
    DockerEnv& env = DockerEnv::with_plugin();
    env.docker_ok({"volume", "create", "-d", "btrfs", "nonroot"});
    // The pool's folders are closed to other users (0700), yet the volume itself is what the
    // container sees: a root container opens it up, and user nobody writes and reads there.
    CHECK((fs::status(env.volume_path("nonroot").parent_path()).permissions() & fs::perms::others_all) ==
          fs::perms::none);
    env.docker_ok({"run", "--rm", "-v", "nonroot:/data", "busybox", "chmod", "1777", "/data"});
    env.docker_ok({"run", "--rm", "--user", "65534:65534", "-v", "nonroot:/data", "busybox", "sh", "-c",
                   "echo from nobody > /data/mine && cat /data/mine"});
    CHECK(read_text(env.volume_path("nonroot") / "mine") == "from nobody\n");
    env.docker_ok({"volume", "rm", "nonroot"});
}
