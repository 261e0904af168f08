// SPDX-License-Identifier: Apache-2.0
// Issue 29 regressions of the pool itself: other local users cannot reach what is in it.
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <sys/stat.h>

#include <filesystem>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

RunResult bv(const fs::path& root, std::vector<std::string> args)
{
    args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
    return run(args);
}

unsigned mode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// What user nobody gets when it runs path: the exit status of "path" as a program.
RunResult as_nobody(const std::string& command)
{
    return run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", command});
}

// A setuid-root program in a volume (what a container can make) and a file in a snapshot, seen
// from the host as user nobody: both must be out of reach.
void check_unreachable(const fs::path& root, const std::string& snapshot)
{
    auto prog = root / "volumes/v/suid-sh";
    auto exec = as_nobody(fmt::format("'{}' echo reached", prog.native())); // busybox's echo
    INFO("ran " << prog << " as nobody: " << exec.out << exec.err);
    CHECK(exec.status != 0);
    CHECK(exec.out.find("reached") == std::string::npos);
    auto read = as_nobody(fmt::format("cat '{}'", (root / "snapshots" / snapshot / "secret").native()));
    INFO("read the snapshot as nobody: " << read.out << read.err);
    CHECK(read.status != 0);
    CHECK(read.out.find("root only") == std::string::npos);
    // Not even listable.
    CHECK(as_nobody(fmt::format("ls '{}'", (root / "volumes").native())).status != 0);
    CHECK(as_nobody(fmt::format("ls '{}'", (root / "snapshots").native())).status != 0);
}

} // namespace

TEST_CASE("hardening: other local users cannot reach a volume's setuid program nor a snapshot", "[hardening]")
{
    BtrfsFixture fx;
    fs::path root = fx.root();
    fs::create_directories(root);
    REQUIRE(bv(root, {"create", "v"}).status == 0);
    // A program a container made setuid root in its volume.
    sh(fmt::format("cp /bin/busybox '{0}/volumes/v/suid-sh' && chmod 4755 '{0}/volumes/v/suid-sh'", root.native()));
    sh(fmt::format("echo root only > '{}/volumes/v/secret'", root.native()));
    auto snap = bv(root, {"snapshot", "v"});
    REQUIRE(snap.status == 0);
    std::string snapshot = snap.out.substr(0, snap.out.size() - 1);

    SECTION("a new pool")
    {
        CHECK(mode_of(root / "volumes") == 0700);
        CHECK(mode_of(root / "snapshots") == 0700);
        check_unreachable(root, snapshot);
    }
    SECTION("an existing pool (an older buttervolume's, or the Python one's) is closed when opened")
    {
        fs::permissions(root / "volumes", fs::perms(0755));
        fs::permissions(root / "snapshots", fs::perms(0755));
        REQUIRE(as_nobody(fmt::format("cat '{}/volumes/v/secret'", root.native())).status == 0); // open today
        REQUIRE(bv(root, {"volumes"}).status == 0);
        CHECK(mode_of(root / "volumes") == 0700);
        CHECK(mode_of(root / "snapshots") == 0700);
        check_unreachable(root, snapshot);
    }
    SECTION("a read-only pool is still listed")
    {
        fs::permissions(root / "volumes", fs::perms(0755));
        sh(fmt::format("mount -o remount,ro '{}'", fx.mnt().native()));
        auto r = bv(root, {"volumes"});
        sh(fmt::format("mount -o remount,rw '{}'", fx.mnt().native()));
        INFO(r.err);
        CHECK(r.status == 0);
        CHECK(r.out.find("v") != std::string::npos);
    }
}

TEST_CASE("hardening: a relative --root gives absolute Mountpoints", "[hardening]")
{
    BtrfsFixture fx;
    fs::create_directories(fx.root());
    auto r = run({"sh", "-c",
                  fmt::format("cd '{}' && '{}' --root pool create v >/dev/null && '{}' --root ./pool volumes --json",
                              fx.mnt().native(), buttervolume_bin(), buttervolume_bin())});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(fmt::format("\"Mountpoint\":\"{}/volumes/v\"", fx.root().native())) != std::string::npos);
}
