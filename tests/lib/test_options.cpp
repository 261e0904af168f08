// SPDX-License-Identifier: Apache-2.0
// Volume option and size parsing, and the errors they give.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/options.hpp>

#include <fmt/format.h>

using namespace buttervolume;

TEST_CASE("options: sizes in bytes and with binary suffixes", "[options]")
{
    CHECK(parse_size("1") == 1);
    CHECK(parse_size("4096") == 4096);
    CHECK(parse_size("1K") == 1024);
    CHECK(parse_size("64M") == 64ULL << 20);
    CHECK(parse_size("64m") == 64ULL << 20);
    CHECK(parse_size("10G") == 10ULL << 30);
    CHECK(parse_size("10GB") == 10ULL << 30);
    CHECK(parse_size("10GiB") == 10ULL << 30);
    CHECK(parse_size("2T") == 2ULL << 40);
    CHECK(parse_size("1P") == 1ULL << 50);
    CHECK(parse_size("100B") == 100);
}

TEST_CASE("options: bad sizes are refused with the text and the reason", "[options]")
{
    CHECK_THROWS_WITH(parse_size(""), "invalid size '': it is empty");
    CHECK_THROWS_WITH(parse_size("G"), Catch::Contains("it must start with a number"));
    CHECK_THROWS_WITH(parse_size("-1"), Catch::Contains("it must start with a number"));
    CHECK_THROWS_WITH(parse_size("10X"), "invalid size '10X': unknown unit 'X' (use K, M, G, T or P)");
    CHECK_THROWS_WITH(parse_size("1.5G"), Catch::Contains("unknown unit '.5G'"));
    CHECK_THROWS_WITH(parse_size("0"), Catch::Contains("greater than zero"));
    CHECK_THROWS_WITH(parse_size("99999999999999999999"), Catch::Contains("too large"));
    CHECK_THROWS_WITH(parse_size("17000000P"), Catch::Contains("too large"));
    CHECK_THROWS_AS(parse_size("10Gx"), InvalidArgument);
}

TEST_CASE("options: format_size is readable and round-trips whole units", "[options]")
{
    CHECK(format_size(512) == "512");
    CHECK(format_size(1024) == "1K");
    CHECK(format_size(64ULL << 20) == "64M");
    CHECK(format_size(1536ULL << 20) == "1.5G");
    CHECK(parse_size(format_size(10ULL << 30)) == 10ULL << 30);
}

TEST_CASE("options: every key and its values", "[options]")
{
    auto o = VolumeOptions::parse({});
    CHECK(o.copy_on_write);
    CHECK_FALSE(o.compression);
    CHECK_FALSE(o.size_limit);
    CHECK_FALSE(o.from);

    CHECK_FALSE(VolumeOptions::parse({{"copyonwrite", "false"}}).copy_on_write);
    CHECK_FALSE(VolumeOptions::parse({{"copyonwrite", "FALSE"}}).copy_on_write);
    CHECK(VolumeOptions::parse({{"copyonwrite", "true"}}).copy_on_write);
    CHECK_FALSE(VolumeOptions::parse({{"nocow", "true"}}).copy_on_write);
    CHECK(VolumeOptions::parse({{"nocow", "false"}}).copy_on_write);
    CHECK(VolumeOptions::parse({{"compression", "zstd"}}).compression == Compression::Zstd);
    CHECK(VolumeOptions::parse({{"compression", "lzo"}}).compression == Compression::Lzo);
    CHECK(VolumeOptions::parse({{"compression", "zlib"}}).compression == Compression::Zlib);
    CHECK(VolumeOptions::parse({{"compression", "none"}}).compression == Compression::None);
    CHECK(VolumeOptions::parse({{"size", "1G"}}).size_limit == (1ULL << 30));
    CHECK(VolumeOptions::parse({{"from", "db"}}).from == "db");
    CHECK(VolumeOptions::parse({{"from", "db@2024-05-01T12:00:00.000001"}}).from == "db@2024-05-01T12:00:00.000001");
    auto all = VolumeOptions::parse_pairs({"size=64M", "copyonwrite=true", "compression=zstd"});
    CHECK(all.size_limit == (64ULL << 20));
    CHECK(all.copy_on_write);
    CHECK(all.compression == Compression::Zstd);
}

TEST_CASE("options: ephemeral=true needs from=, and takes only true or false", "[options]")
{
    CHECK_FALSE(VolumeOptions::parse({{"from", "db"}}).ephemeral);
    auto e = VolumeOptions::parse({{"from", "db"}, {"ephemeral", "true"}, {"size", "64M"}});
    CHECK(e.ephemeral);
    CHECK(e.from == "db");
    CHECK(e.size_limit == (64ULL << 20));
    CHECK(VolumeOptions::parse_pairs({"from=db@2024-05-01T12:00:00.000001", "ephemeral=TRUE"}).ephemeral);
    CHECK_FALSE(VolumeOptions::parse({{"from", "db"}, {"ephemeral", "false"}}).ephemeral);
    CHECK_FALSE(VolumeOptions::parse({{"ephemeral", "false"}}).ephemeral);

    CHECK_THROWS_WITH(VolumeOptions::parse({{"ephemeral", "true"}}),
                      "option 'ephemeral=true' needs 'from=<volume>' or 'from=<volume>@<timestamp>': "
                      "the source each first mount clones");
    // The words other boolean options accept are refused here: this one decides whether data
    // is thrown away.
    for (const char* v : {"yes", "1", "on", "", "maybe"}) {
        INFO(v);
        CHECK_THROWS_WITH(VolumeOptions::parse({{"from", "db"}, {"ephemeral", v}}),
                          fmt::format("invalid value '{}' for option 'ephemeral': use true or false", v));
    }
}

TEST_CASE("options: unknown keys and bad values list what is valid", "[options]")
{
    CHECK_THROWS_WITH(VolumeOptions::parse({{"sise", "1G"}}),
                      "unknown volume option 'sise': valid options are copyonwrite, nocow, compression, size, from, ephemeral");
    CHECK_THROWS_WITH(VolumeOptions::parse({{"copyonwrite", "maybe"}}),
                      "invalid value 'maybe' for option 'copyonwrite': use true or false");
    CHECK_THROWS_WITH(VolumeOptions::parse({{"compression", "gzip"}}),
                      "invalid value 'gzip' for option 'compression': use zstd, lzo, zlib or none");
    CHECK_THROWS_WITH(VolumeOptions::parse({{"size", "lots"}}), Catch::Contains("invalid size 'lots'"));
    CHECK_THROWS_WITH(VolumeOptions::parse({{"copyonwrite", "false"}, {"nocow", "false"}}),
                      Catch::Contains("contradict"));
    CHECK_THROWS_WITH(VolumeOptions::parse({{"from", "../x"}}), Catch::Contains("invalid volume name '../x'"));
    CHECK_THROWS_WITH(VolumeOptions::parse({{"from", "db@"}}), Catch::Contains("for option 'from'"));
    CHECK_THROWS_WITH(VolumeOptions::parse({{"from", "db"}, {"copyonwrite", "false"}}),
                      Catch::Contains("cannot be combined"));
    CHECK_THROWS_WITH(VolumeOptions::parse({{"copyonwrite", "false"}, {"compression", "zstd"}}),
                      Catch::Contains("does not compress no-copy-on-write files"));
    CHECK_FALSE(VolumeOptions::parse({{"copyonwrite", "false"}, {"compression", "none"}}).copy_on_write);
    CHECK_THROWS_WITH(VolumeOptions::parse_pairs({"size"}), Catch::Contains("use key=value"));
    CHECK_THROWS_WITH(VolumeOptions::parse_pairs({"=1"}), Catch::Contains("use key=value"));
    CHECK_THROWS_WITH(VolumeOptions::parse_pairs({"size=1G", "size=2G"}), "option 'size' given twice");
    CHECK_THROWS_AS(VolumeOptions::parse({{"bogus", ""}}), InvalidArgument);
}
