// SPDX-License-Identifier: Apache-2.0
// Issue 29 item 5: what a power cut leaves of a receive that has returned (import, serve-ssh
// receive, a pull). The loop image is
// copied the moment the command returns (the device as it is, without a sync) and the copy is
// mounted on its own, replaying what a crashed machine would replay.
#include "../catch.hpp"
#include "fixture.hpp"
#include "ssh_hosts.hpp"

#include <fmt/format.h>

#include <filesystem>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// A snapshot of volume v holding a 40 MiB file and a 19-byte file; returns its name.
std::string source_snapshot(const fs::path& root)
{
    fs::create_directories(root);
    REQUIRE(bv(root, {"create", "v"}).status == 0);
    sh(fmt::format("head -c 41943040 /dev/urandom > '{0}/volumes/v/big' && printf 'nineteen bytes here' > "
                   "'{0}/volumes/v/small'",
                   root.native()));
    auto r = bv(root, {"snapshot", "v"});
    REQUIRE(r.status == 0);
    return r.out.substr(0, r.out.size() - 1);
}

// Mounts a byte copy of fx's image, taken now, and checks the received snapshot there holds
// the source's files; the copy is unmounted and removed afterwards.
void check_on_device(const BtrfsFixture& fx, const fs::path& source, const std::string& snapshot)
{
    fs::path img = fx.mnt().parent_path() / "btrfs.img";
    fs::path copy = fx.mnt().parent_path() / "powercut.img";
    fs::path at = fx.mnt().parent_path() / "powercut";
    sh(fmt::format("cp --sparse=always '{}' '{}' && mkdir -p '{}'", img.native(), copy.native(), at.native()));
    sh(fmt::format("mount -o loop '{}' '{}'", copy.native(), at.native()));
    fs::path got = at / "pool" / "snapshots" / snapshot;
    auto cmp = run({"sh", "-c", fmt::format("cmp '{0}/big' '{1}/big' && cmp '{0}/small' '{1}/small'",
                                            source.native(), got.native())});
    auto ro = run({"btrfs", "property", "get", "-ts", got.native(), "ro"});
    sh(fmt::format("umount '{}' && rm -f '{}'", at.native(), copy.native()));
    INFO("after a power cut: " << cmp.out << cmp.err);
    CHECK(ro.out == "ro=true\n"); // it is there, complete: read-only and received...
    CHECK(cmp.status == 0);       // ...and so is its data
}

} // namespace

TEST_CASE("hardening: a received snapshot's data is on the device when the receive returns", "[hardening]")
{
    BtrfsFixture a(1ULL << 30), b(1ULL << 30);
    std::string snapshot = source_snapshot(a.root());
    fs::path source = a.root() / "snapshots" / snapshot;
    fs::path stream = a.mnt().parent_path() / "s.stream";
    REQUIRE(bv(a.root(), {"export", snapshot, "-o", stream.native()}).status == 0);
    sh("sync");

    fs::create_directories(b.root());
    SECTION("import")
    {
        auto r = bv(b.root(), {"import", "-i", stream.native()});
        REQUIRE(r.status == 0);
        check_on_device(b, source, snapshot);
    }
    SECTION("serve-ssh receive (what a sending host runs)")
    {
        REQUIRE(bv(b.root(), {"volumes"}).status == 0);
        auto r = run({"sh", "-c",
                      fmt::format("SSH_ORIGINAL_COMMAND='buttervolume serve-ssh receive v' '{}' --root '{}' serve-ssh "
                                  "< '{}'",
                                  buttervolume_bin(), b.root().native(), stream.native())});
        INFO(r.err);
        REQUIRE(r.status == 0);
        REQUIRE(r.out.find("received\t" + snapshot) != std::string::npos);
        check_on_device(b, source, snapshot);
    }
}

TEST_CASE("hardening: a pulled snapshot's data is on the device when the pull returns", "[hardening]")
{
    SshHost a("node-durable", KeyMode::ServeSsh, 1ULL << 30);
    BtrfsFixture b(1ULL << 30);
    fs::create_directories(b.root());
    std::string snapshot = source_snapshot(a.root());
    sh("sync");
    auto r = bv(b.root(), {"receive", "--ssh-config", ssh_client().config().native(), a.alias(), "v"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    check_on_device(b, a.snapshots() / snapshot, snapshot);
}
