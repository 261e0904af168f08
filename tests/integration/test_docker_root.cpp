// SPDX-License-Identifier: Apache-2.0
// A pool root that is Docker's volume directory: our folders are guarded from its local driver.
#include "../catch.hpp"
#include "fixture.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>

#include <fstream>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

TEST_CASE("pool: in Docker's volume directory each folder gets a _data link to the root", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    std::ofstream(fsx.root() / "metadata.db") << "docker";
    fs::create_directories(fsx.root() / "web" / "_data"); // one of Docker's local volumes
    Pool pool(fsx.root());
    for (const char* d : {"volumes", "snapshots", "config", "state"}) {
        INFO(d);
        CHECK(fs::is_symlink(fsx.root() / d / "_data"));
        CHECK(fs::read_symlink(fsx.root() / d / "_data") == "..");
    }
    // The links are not volumes nor snapshots, and Docker's own volume is left alone.
    pool.create_volume("db", {});
    CHECK(pool.volume_names() == std::vector<std::string>{"db"});
    CHECK(pool.volumes().size() == 1);
    CHECK(pool.snapshots().empty());
    CHECK(fs::is_directory(fsx.root() / "web" / "_data"));
    CHECK_FALSE(fs::exists(fsx.root() / "web" / "volumes"));
    // Opening again finds the links in place.
    CHECK_NOTHROW(Pool(fsx.root()));
}

TEST_CASE("pool: a Docker local volume named like one of our folders is refused, nothing made", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root() / "snapshots" / "_data");
    std::ofstream(fsx.root() / "metadata.db") << "docker";
    std::string before = tree_listing(fsx.root());
    CHECK_THROWS_AS(Pool(fsx.root()), InvalidArgument);
    CHECK_THROWS_WITH(Pool(fsx.root()), Catch::Contains("Docker's local volume 'snapshots'") &&
                                            Catch::Contains("docker volume rm snapshots"));
    CHECK(tree_listing(fsx.root()) == before);
}

TEST_CASE("pool: a root without Docker's metadata.db gets no links", "[pool]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    Pool pool(fsx.root());
    CHECK_FALSE(fs::exists(fsx.root() / "volumes" / "_data"));
}
