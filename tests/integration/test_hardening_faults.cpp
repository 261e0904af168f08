// SPDX-License-Identifier: Apache-2.0
// Regressions for what the fault-injection suite found beyond issue 12's list (N1, N2), one
// strace-injected fault each: the exit status must tell what happened to the data.
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <filesystem>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// The pool root is made first: `buttervolume` makes the layout below it, not the root itself.
RunResult bv(const fs::path& root, std::vector<std::string> args)
{
    fs::create_directories(root);
    args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
    return run(args);
}

// The command with every call of syscall failing with EIO (from the when-th on).
RunResult bv_faulted(const fs::path& root, const std::string& syscall, std::vector<std::string> args,
                     const std::string& when = "1+")
{
    fs::create_directories(root);
    args.insert(args.begin(), {"env", asan_options_under_ptrace(), "strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + syscall, "-e",
                               fmt::format("inject={}:error=EIO:when={}", syscall, when), buttervolume_bin(),
                               "--root", root.native()});
    return run(args);
}

} // namespace

TEST_CASE("hardening: create that made the volume does not exit 1 when reading it back fails (N1)", "[hardening]")
{
    BtrfsFixture fsx;
    REQUIRE(bv(fsx.root(), {"volumes"}).status == 0);
    // fgetxattr runs only after the rename into place: reading the volume's compression back.
    auto r = bv_faulted(fsx.root(), "fgetxattr", {"create", "v"});
    bool exists = fs::is_directory(fsx.root() / "volumes" / "v");
    INFO(r.status << " " << r.err);
    CHECK(r.status == (exists ? 0 : 1));
}

TEST_CASE("hardening: a listing whose directory read fails is an error, not an empty list (N2)", "[hardening]")
{
    BtrfsFixture fsx;
    REQUIRE(bv(fsx.root(), {"create", "v"}).status == 0);
    REQUIRE(bv(fsx.root(), {"snapshot", "v"}).status == 0);
    auto r = bv_faulted(fsx.root(), "getdents64", {"snapshots", "v", "--json"});
    INFO(r.status << " " << r.out << r.err);
    CHECK(r.status == 1);
    CHECK_FALSE(r.err.empty());
}

TEST_CASE("hardening: purge whose scan fails exits 1 and leaves the count record true (N2)", "[hardening]")
{
    BtrfsFixture fsx;
    REQUIRE(bv(fsx.root(), {"create", "v"}).status == 0);
    for (const char* ts : {"2020-01-01T00:00:00.000000", "2020-01-02T00:00:00.000000"})
        sh(fmt::format("btrfs -q subvolume snapshot -r '{0}/volumes/v' '{0}/snapshots/v@{1}'", fsx.root().native(), ts));
    REQUIRE(bv(fsx.root(), {"snapshot", "v"}).status == 0);
    auto r = bv_faulted(fsx.root(), "getdents64", {"purge", "1h", "v"});
    bool deleted = !fs::exists(fsx.root() / "snapshots" / "v@2020-01-01T00:00:00.000000");
    INFO(r.status << " " << r.out << r.err);
    CHECK(r.status == (deleted ? 0 : 1));
    // What the plugin's Get reports as the snapshot count comes from this record.
    std::string record = sh(fmt::format("cat '{}/state/snapshots/v' 2>/dev/null || true", fsx.root().native()));
    std::size_t on_disk = deleted ? 1 : 3;
    if (record.find("count ") != std::string::npos)
        CHECK_THAT(record, Catch::Contains(fmt::format("count {}\n", on_disk)));
}
