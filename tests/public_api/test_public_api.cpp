// SPDX-License-Identifier: Apache-2.0
// Uses only <buttervolume/...> and the shared library: exceptions cross the library boundary
// (their typeinfo is exported) and the value types are usable without any private header.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/options.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/retention.hpp>
#include <buttervolume/snapshot.hpp>
#include <buttervolume/receive.hpp>
#include <buttervolume/send.hpp>
#include <buttervolume/stream.hpp>
#include <buttervolume/version.hpp>
#include <buttervolume/volume.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

using namespace buttervolume;

TEST_CASE("public-api: exceptions thrown inside the library are caught by their public type", "[public-api]")
{
    CHECK_THROWS_AS(check_volume_name("a/b"), InvalidArgument);
    CHECK_THROWS_AS(parse_size("x"), Error);
    CHECK_THROWS_AS(VolumeOptions::parse({{"nope", "1"}}), std::system_error);
    CHECK_THROWS_AS(Pool(std::filesystem::path("/nonexistent/buttervolume-root")), NotFound);
    auto dir = std::filesystem::temp_directory_path() / ("bv-public-api-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    // /tmp is not btrfs on the test machines; where it is, opening must succeed instead.
    try {
        Pool pool(dir);
        CHECK(pool.paths().root == dir);
    } catch (const NotBtrfs& e) {
        CHECK_THAT(e.what(), Catch::Contains(dir.native()));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("public-api: value types and the version", "[public-api]")
{
    VolumeOptions o = VolumeOptions::parse({{"size", "1G"}});
    Volume v;
    v.size_limit = o.size_limit;
    CHECK(v.options().size_limit == (1ULL << 30));
    CHECK(to_string(Compression::Zstd) == "zstd");
    CHECK(std::string(BUTTERVOLUME_VERSION).size() > 0);
    CHECK(PoolPaths::under("/r").snapshots == "/r/snapshots");
    CHECK(default_root() == "/var/lib/buttervolume");
}

TEST_CASE("public-api: snapshot names and retention are usable from the public headers", "[public-api]")
{
    CHECK_THROWS_AS(check_snapshot_name("x@/../../volumes/v"), InvalidArgument);
    CHECK_THROWS_AS(RetentionPattern::parse("1d:1h"), InvalidArgument);
    auto sn = parse_snapshot_name("db@2026-11-30T09:00:00.000000");
    REQUIRE(sn);
    CHECK(sn->volume == "db");
    auto decisions = decide_retention(RetentionPattern::parse("1h"), {sn->utc}, sn->utc);
    REQUIRE(decisions.size() == 1);
    CHECK(decisions[0].keep);
    Snapshot s;
    s.name = sn->str();
    RestoreOptions ro;
    PurgeOptions po;
    CHECK_FALSE(ro.force);
    CHECK_FALSE(po.dry_run);
}

TEST_CASE("public-api: send stream errors cross the library as StreamError", "[public-api]")
{
    const std::uint8_t not_a_stream[] = {'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    stream::StreamReader reader(std::span<const std::uint8_t>(not_a_stream, sizeof not_a_stream));
    stream::Command c;
    CHECK_THROWS_AS(reader.next(c), StreamError);
    CHECK_THROWS_AS(send_snapshot("/nonexistent/snapshot", 1), NotFound);
    stream::StreamReader empty(std::span<const std::uint8_t>{});
    CHECK_THROWS_AS(receive_stream(empty, "/nonexistent/dest"), NotFound);
}
