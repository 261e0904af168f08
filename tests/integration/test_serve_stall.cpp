// SPDX-License-Identifier: Apache-2.0
// The serving end of a replication (serve-ssh, as sshd runs it: its stdin and stdout are the
// session's pipes) against a peer that stops sending or reading: the session ends in a bound.
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <filesystem>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

RunResult bv(const fs::path& root, std::vector<std::string> args)
{
    fs::create_directories(root);
    args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
    return run(args);
}

// A snapshot of volume v with 12 MiB of random data (more than any pipe holds); its name.
std::string big_snapshot(const fs::path& root)
{
    REQUIRE(bv(root, {"create", "v"}).status == 0);
    sh(fmt::format("head -c 12582912 /dev/urandom > '{}/volumes/v/big'", root.native()));
    auto r = bv(root, {"snapshot", "v"});
    REQUIRE(r.status == 0);
    return r.out.substr(0, r.out.size() - 1);
}

// The seconds a session script reported ("... secs=S"), or -1.
int seconds_of(const std::string& out)
{
    auto at = out.rfind("secs=");
    return at == std::string::npos ? -1 : std::stoi(out.substr(at + 5));
}

// Runs `script` (sh) with $BV, $ROOT and $DIR set; its last line of stdout is "rc=N secs=S".
RunResult session(const fs::path& root, const fs::path& dir, const std::string& script)
{
    return run({"sh", "-c",
                fmt::format("BV='{}' ROOT='{}' DIR='{}'; BUTTERVOLUME_STALL_TIMEOUT=2; export "
                            "BUTTERVOLUME_STALL_TIMEOUT; start=$(date +%s); {}",
                            buttervolume_bin(), root.native(), dir.native(), script)});
}

} // namespace

TEST_CASE("hardening: serve-ssh ends a session whose peer stops sending or reading", "[hardening]")
{
    BtrfsFixture a(1ULL << 30), b(1ULL << 30);
    std::string snapshot = big_snapshot(a.root());
    fs::path dir = a.mnt().parent_path();
    fs::path stream = dir / "s.stream";
    REQUIRE(bv(a.root(), {"export", snapshot, "-o", stream.native()}).status == 0);
    REQUIRE(bv(b.root(), {"volumes"}).status == 0);

    SECTION("a sender that stops halfway: the receive ends and leaves nothing")
    {
        // Half the stream, then a sender that stays connected and silent.
        auto r = session(b.root(), dir,
                         fmt::format("mkfifo \"$DIR/in\"; (head -c 6000000 '{}'; exec sleep 60) > \"$DIR/in\" & feeder=$!; "
                                     "SSH_ORIGINAL_COMMAND='receive v' timeout -k 5 30 \"$BV\" --root \"$ROOT\" serve-ssh "
                                     "< \"$DIR/in\" > /dev/null; rc=$?; kill $feeder; "
                                     "echo rc=$rc secs=$(( $(date +%s) - start ))",
                                     stream.native()));
        INFO(r.out << r.err);
        CHECK(r.out.find("rc=1 ") != std::string::npos); // failed by itself, not killed by timeout (124)
        CHECK(seconds_of(r.out) <= 15);
        CHECK(r.err.find("no progress for 2 s") != std::string::npos);
        CHECK(sh(fmt::format("ls -A '{}'", (b.root() / "snapshots").native())).empty());
        CHECK(bv(b.root(), {"volumes"}).status == 0); // and the pool is whole
    }
    SECTION("a puller that stops reading: the send ends")
    {
        auto r = session(a.root(), dir,
                         fmt::format("mkfifo \"$DIR/out\"; SSH_ORIGINAL_COMMAND='send {}' timeout -k 5 30 \"$BV\" --root "
                                     "\"$ROOT\" serve-ssh > \"$DIR/out\" & pid=$!; exec 3< \"$DIR/out\"; wait $pid; "
                                     "rc=$?; echo rc=$rc secs=$(( $(date +%s) - start ))",
                                     snapshot));
        INFO(r.out << r.err);
        // Stopped by the stall bound: status 1 (SIGTERM seen) or 137 (killed when stuck in a
        // write), in seconds, not by timeout(1) at 30 s (124, or 137 at 35 s).
        CHECK((r.out.find("rc=1 ") != std::string::npos || r.out.find("rc=137 ") != std::string::npos));
        CHECK(seconds_of(r.out) <= 15);
        // The operator reads why in the log.
        auto log = sh(fmt::format("cat '{}/state/serve-ssh.log'", a.root().native()));
        CHECK(log.find("no progress for 2 s") != std::string::npos);
    }
}
