// SPDX-License-Identifier: Apache-2.0
// The plugin handlers on a real pool: what Docker gets back for each request, errors included.
#include "../catch.hpp"
#include "fixture.hpp"

#include "plugin/handlers.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <rapidjson/document.h>

#include <fstream>

using namespace buttervolume;
using namespace buttervolume::test;
using plugin::handle_request;
using plugin::Reply;
namespace fs = std::filesystem;

namespace {

rapidjson::Document json(const Reply& r)
{
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    INFO(r.body);
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    return doc;
}

std::string err_of(const Reply& r)
{
    auto doc = json(r);
    REQUIRE(doc.HasMember("Err"));
    return doc["Err"].GetString();
}

// A success: status 200 and an empty Err.
rapidjson::Document ok(const Reply& r)
{
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto doc = json(r);
    if (doc.HasMember("Err"))
        CHECK(std::string(doc["Err"].GetString()).empty());
    return doc;
}

struct PoolFixture {
    BtrfsFixture fsx;
    std::optional<Pool> pool;
    PoolFixture()
    {
        fs::create_directories(fsx.root());
        pool.emplace(fsx.root());
    }
    Reply call(std::string_view endpoint, std::string_view body) { return handle_request(*pool, endpoint, body); }
};

} // namespace

TEST_CASE("plugin: Activate and Capabilities accept empty, null and newline-terminated bodies", "[plugin]")
{
    PoolFixture f;
    for (std::string_view body : {"", "{}", "{}\n", "null", " \n"}) {
        INFO("body: " << body);
        auto act = ok(f.call("/Plugin.Activate", body));
        REQUIRE(act["Implements"].IsArray());
        CHECK(std::string(act["Implements"][0].GetString()) == "VolumeDriver");
        auto caps = ok(f.call("/VolumeDriver.Capabilities", body));
        CHECK(std::string(caps["Capabilities"]["Scope"].GetString()) == "local");
    }
}

TEST_CASE("plugin: Create with Opts null, with options, idempotent for equal options", "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", "{\"Name\":\"anon\",\"Opts\":null}\n"));
    CHECK(f.pool->has_volume("anon"));
    ok(f.call("/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":"64M","compression":"zstd"}})"));
    auto v = f.pool->find_volume("db");
    REQUIRE(v);
    CHECK(v->size_limit == std::optional<std::uint64_t>(64ULL << 20));
    CHECK(v->compression == Compression::Zstd);
    // Go matches keys case-insensitively; so do we.
    ok(f.call("/VolumeDriver.Create", R"({"name":"db","opts":{"size":"64M","compression":"zstd"}})"));

    auto conflict = f.call("/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":"1G"}})");
    CHECK(conflict.status == 500);
    CHECK_THAT(err_of(conflict), Catch::Contains("'db'") && Catch::Contains("size"));
    CHECK(f.pool->find_volume("db")->size_limit == std::optional<std::uint64_t>(64ULL << 20));
}

TEST_CASE("plugin: bad names and options get a 500 with a clear Err and change nothing", "[plugin]")
{
    PoolFixture f;
    std::string before = tree_listing(f.fsx.mnt());
    auto bad_opt = f.call("/VolumeDriver.Create", R"({"Name":"v","Opts":{"sise":"1G"}})");
    CHECK(bad_opt.status == 500);
    CHECK(err_of(bad_opt) ==
          "unknown volume option 'sise': valid options are copyonwrite, nocow, compression, size, from, ephemeral");
    auto bad_name = f.call("/VolumeDriver.Create", R"({"Name":"../../etc","Opts":null})");
    CHECK(bad_name.status == 500);
    CHECK_THAT(err_of(bad_name), Catch::StartsWith("invalid volume name '../../etc'"));
    auto bad_get = f.call("/VolumeDriver.Get", R"({"Name":"a/b"})");
    CHECK(bad_get.status == 500);
    CHECK_THAT(err_of(bad_get), Catch::Contains("'/' is a path separator"));
    CHECK(tree_listing(f.fsx.mnt()) == before);
}

TEST_CASE("plugin: undecodable requests get a 400 with a JSON Err", "[plugin]")
{
    PoolFixture f;
    std::string before = tree_listing(f.fsx.mnt());
    struct Case {
        std::string_view endpoint, body, err;
    };
    for (const Case& c : {
             Case{"/VolumeDriver.Create", R"({"Name":"v",)", "malformed JSON body"},
             Case{"/VolumeDriver.Create", "[1,2]", "must be an object"},
             Case{"/VolumeDriver.Create", "", "has no \"Name\""},
             Case{"/VolumeDriver.Create", R"({"Name":7})", "\"Name\" must be a string"},
             Case{"/VolumeDriver.Create", R"({"Name":"v","Opts":{"size":1}})", "option 'size' must be a string"},
             Case{"/VolumeDriver.Create", R"({"Name":"v","Opts":"size=1"})", "\"Opts\" must be an object"},
             Case{"/VolumeDriver.Mount", R"({"ID":"x"})", "has no \"Name\""},
             Case{"/VolumeDriver.Get", "{} trailing", "malformed JSON body"},
         }) {
        INFO(c.endpoint << " " << c.body);
        Reply r = f.call(c.endpoint, c.body);
        CHECK(r.status == 400);
        CHECK_THAT(err_of(r), Catch::Contains(std::string(c.err)) && Catch::StartsWith(std::string(c.endpoint)));
    }
    // A deeply nested body must be refused, not overflow the parser's stack and kill the daemon.
    const std::string deep(1 << 20, '[');
    Reply nested = f.call("/VolumeDriver.Get", deep);
    CHECK(nested.status == 400);
    CHECK_THAT(err_of(nested), Catch::Contains("malformed JSON body"));
    auto unknown = f.call("/VolumeDriver.Frobnicate", "{}");
    CHECK(unknown.status == 404);
    CHECK_THAT(err_of(unknown), Catch::Contains("unknown endpoint '/VolumeDriver.Frobnicate'"));
    CHECK(tree_listing(f.fsx.mnt()) == before);
}

TEST_CASE("plugin: Get returns Mountpoint, RFC 3339 CreatedAt and the Status of the volume", "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":"64M","compression":"zstd"}})"));
    ok(f.call("/VolumeDriver.Create", R"({"Name":"pg","Opts":{"copyonwrite":"false"}})"));
    // Random bytes: zstd would shrink a pattern to nothing.
    sh(fmt::format("head -c 1M /dev/urandom > '{}' && btrfs filesystem sync '{}'",
                   (f.fsx.root() / "volumes" / "db" / "data").native(), f.fsx.mnt().native()));

    auto got = ok(f.call("/VolumeDriver.Get", R"({"Name":"db"})"));
    const auto& v = got["Volume"];
    CHECK(std::string(v["Name"].GetString()) == "db");
    CHECK(std::string(v["Mountpoint"].GetString()) == (f.fsx.root() / "volumes" / "db").native());
    CHECK_THAT(v["CreatedAt"].GetString(), Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
    const auto& st = v["Status"];
    CHECK(st["CopyOnWrite"].GetBool());
    CHECK(std::string(st["Compression"].GetString()) == "zstd");
    CHECK(st["SizeLimit"].GetUint64() == (64ULL << 20));
    CHECK(std::string(st["SizeLimitHuman"].GetString()) == "64M");
    CHECK(st["SizeUsed"].GetUint64() >= (1ULL << 20));
    CHECK(st["Mounts"].GetUint64() == 0);
    CHECK(st["Snapshots"].GetUint64() == 0);
    f.pool->snapshot("db");
    f.pool->snapshot("db");
    CHECK(ok(f.call("/VolumeDriver.Get", R"({"Name":"db"})"))["Volume"]["Status"]["Snapshots"].GetUint64() == 2);

    auto pg = ok(f.call("/VolumeDriver.Get", R"({"Name":"pg"})"));
    CHECK_FALSE(pg["Volume"]["Status"]["CopyOnWrite"].GetBool());
    CHECK(std::string(pg["Volume"]["Status"]["Compression"].GetString()) == "none");
    // No limit: no size fields (usage of an unlimited volume is not what Status promises).
    CHECK_FALSE(pg["Volume"]["Status"].HasMember("SizeLimit"));
    CHECK_FALSE(pg["Volume"]["Status"].HasMember("SizeUsed"));

    // A volume made behind Docker's back (CLI, library, Python buttervolume) is found too.
    f.pool->create_volume("byhand");
    ok(f.call("/VolumeDriver.Get", R"({"Name":"byhand"})"));

    auto missing = f.call("/VolumeDriver.Get", R"({"Name":"nope"})");
    CHECK(missing.status == 500);
    CHECK(err_of(missing) == "volume 'nope': no such volume");
    CHECK(missing.volume == "nope");
}

TEST_CASE("plugin: Path and Mount return the volume directory; Mount of a missing volume fails", "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", R"({"Name":"v"})"));
    std::string dir = (f.fsx.root() / "volumes" / "v").native();
    CHECK(std::string(ok(f.call("/VolumeDriver.Path", R"({"Name":"v"})"))["Mountpoint"].GetString()) == dir);
    CHECK(std::string(ok(f.call("/VolumeDriver.Mount", R"({"Name":"v","ID":"a1"})"))["Mountpoint"].GetString()) == dir);
    auto path_missing = f.call("/VolumeDriver.Path", R"({"Name":"gone"})");
    CHECK(path_missing.status == 500);
    CHECK(err_of(path_missing) == "volume 'gone': no such volume");
    auto mount_missing = f.call("/VolumeDriver.Mount", R"({"Name":"gone","ID":"a1"})");
    CHECK(mount_missing.status == 500);
    CHECK_THAT(err_of(mount_missing), Catch::Contains("'gone'") && Catch::Contains("no such volume"));
    CHECK_FALSE(fs::exists(f.fsx.root() / "volumes" / "gone"));
}

TEST_CASE("plugin: a mounted volume is not removed; Unmount of an unknown ID succeeds with a note", "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", R"({"Name":"v"})"));
    REQUIRE(write_bytes(f.fsx.root() / "volumes" / "v" / "keep", 4096) == 0);
    ok(f.call("/VolumeDriver.Mount", R"({"Name":"v","ID":"id1"})"));
    ok(f.call("/VolumeDriver.Mount", R"({"Name":"v","ID":"id1"})")); // docker cp on a running container
    ok(f.call("/VolumeDriver.Mount", R"({"Name":"v","ID":"id2"})"));
    CHECK(ok(f.call("/VolumeDriver.Get", R"({"Name":"v"})"))["Volume"]["Status"]["Mounts"].GetUint64() == 3);

    auto refused = f.call("/VolumeDriver.Remove", R"({"Name":"v"})");
    CHECK(refused.status == 500);
    CHECK_THAT(err_of(refused), Catch::Contains("'v'") && Catch::Contains("mounted"));
    CHECK(fs::exists(f.fsx.root() / "volumes" / "v" / "keep"));

    Reply unknown = f.call("/VolumeDriver.Unmount", R"({"Name":"v","ID":"never-mounted"})");
    ok(unknown);
    CHECK_THAT(unknown.note, Catch::Contains("never-mounted"));
    // Names and IDs we would never have counted are accepted too: nothing is mounted under them.
    for (const char* body : {R"({"Name":"a/b","ID":"x"})", R"({"Name":"v","ID":""})", R"({"Name":"v"})"}) {
        INFO(body);
        Reply r = f.call("/VolumeDriver.Unmount", body);
        CHECK(r.status == 200);
        CHECK_FALSE(r.note.empty());
    }
    Reply no_volume = f.call("/VolumeDriver.Unmount", R"({"Name":"gone","ID":"x"})");
    ok(no_volume);
    CHECK_FALSE(no_volume.note.empty());

    for (int i = 0; i < 2; ++i)
        CHECK(ok(f.call("/VolumeDriver.Unmount", R"({"Name":"v","ID":"id1"})")).IsObject());
    ok(f.call("/VolumeDriver.Unmount", R"({"Name":"v","ID":"id2"})"));
    CHECK(ok(f.call("/VolumeDriver.Get", R"({"Name":"v"})"))["Volume"]["Status"]["Mounts"].GetUint64() == 0);
    Reply last = f.call("/VolumeDriver.Unmount", R"({"Name":"v","ID":"id2"})");
    ok(last);
    CHECK_FALSE(last.note.empty()); // never below zero: a fourth Unmount is an unknown one

    ok(f.call("/VolumeDriver.Remove", R"({"Name":"v"})"));
    CHECK_FALSE(f.pool->has_volume("v"));
    auto again = f.call("/VolumeDriver.Remove", R"({"Name":"v"})");
    CHECK(again.status == 500);
    CHECK(err_of(again) == "remove volume 'v': no such volume");
}

TEST_CASE("plugin: List returns every volume with its Mountpoint, and nothing else", "[plugin]")
{
    PoolFixture f;
    CHECK(ok(f.call("/VolumeDriver.List", ""))["Volumes"].Size() == 0);
    for (const char* n : {"b", "a", "c.d_e-f"})
        f.pool->create_volume(n);
    // Not volumes: a temporary of a create in progress, a plain directory, Python 1.x's file.
    sh(fmt::format("btrfs -q subvolume create '{}'", (f.fsx.root() / "volumes" / ".tmp.x.1").native()));
    fs::create_directory(f.fsx.root() / "volumes" / "plaindir");
    sh(fmt::format("touch '{}'", (f.fsx.root() / "volumes" / "metadata.db").native()));
    // Subvolumes elsewhere: nested in a volume, beside the pool.
    sh(fmt::format("btrfs -q subvolume create '{}'", (f.fsx.root() / "volumes" / "a" / "nested").native()));
    sh(fmt::format("btrfs -q subvolume create '{}'", (f.fsx.mnt() / "elsewhere").native()));
    // Renamed or deleted behind our back: seen at once, not at the next transaction commit.
    sh(fmt::format("btrfs -q subvolume create '{0}/gone' && mv '{0}/b' '{0}/bee' && btrfs -q subvolume delete '{0}/gone'",
                   (f.fsx.root() / "volumes").native()));
    auto list = ok(f.call("/VolumeDriver.List", "{}\n"));
    const auto& vols = list["Volumes"];
    REQUIRE(vols.Size() == 3);
    std::vector<std::string> names;
    for (const auto& v : vols.GetArray()) {
        names.emplace_back(v["Name"].GetString());
        CHECK(std::string(v["Mountpoint"].GetString()) == (f.fsx.root() / "volumes" / names.back()).native());
    }
    CHECK(names == std::vector<std::string>{"a", "bee", "c.d_e-f"});
}

TEST_CASE("plugin: Get's Status counts the volume's snapshots from its state record", "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", R"({"Name":"db"})"));
    auto count = [&] {
        return ok(f.call("/VolumeDriver.Get", R"({"Name":"db"})"))["Volume"]["Status"]["Snapshots"].GetUint64();
    };
    CHECK(count() == 0);
    Snapshot a = f.pool->snapshot("db");
    f.pool->snapshot("db");
    CHECK(count() == 2);
    f.pool->restore(a.name); // adds the safety snapshot
    CHECK(count() == 3);
    f.pool->remove_snapshot(a.name);
    CHECK(count() == 2);
    // Get reads the record: a snapshot made behind the library's back is counted at the next
    // listing of the volume, not by Get (which never scans snapshots/).
    sh(fmt::format("btrfs -q subvolume snapshot -r '{}' '{}/db@2020-01-01T00:00:00.000000'",
                   (f.fsx.root() / "volumes" / "db").native(), (f.fsx.root() / "snapshots").native()));
    CHECK(count() == 2);
    f.pool->snapshots("db");
    CHECK(count() == 3);
}

TEST_CASE("plugin: an ephemeral volume over the wire: Get shows it, bad options and a lost source are clear errors",
          "[plugin]")
{
    PoolFixture f;
    ok(f.call("/VolumeDriver.Create", R"({"Name":"prod"})"));
    std::ofstream(f.fsx.root() / "volumes/prod/f") << "prod";
    ok(f.call("/VolumeDriver.Create", R"({"Name":"qa","Opts":{"from":"prod","ephemeral":"true"}})"));
    auto st = ok(f.call("/VolumeDriver.Get", R"({"Name":"qa"})"));
    CHECK(st["Volume"]["Status"]["Ephemeral"].IsTrue());
    CHECK(std::string(st["Volume"]["Status"]["Source"].GetString()) == "prod");
    CHECK(ok(f.call("/VolumeDriver.Get", R"({"Name":"prod"})"))["Volume"]["Status"]["Ephemeral"].IsFalse());

    const std::string before = tree_listing(f.fsx.root());
    auto no_from = f.call("/VolumeDriver.Create", R"({"Name":"bad","Opts":{"ephemeral":"true"}})");
    CHECK(no_from.status == 500);
    CHECK(err_of(no_from) == "option 'ephemeral=true' needs 'from=<volume>' or 'from=<volume>@<timestamp>': the "
                             "source each first mount clones");
    auto bad_value = f.call("/VolumeDriver.Create", R"({"Name":"bad","Opts":{"from":"prod","ephemeral":"yes"}})");
    CHECK(bad_value.status == 500);
    CHECK(err_of(bad_value) == "invalid value 'yes' for option 'ephemeral': use true or false");
    CHECK(tree_listing(f.fsx.root()) == before);

    const std::string mount = R"({"Name":"qa","ID":"c1"})";
    ok(f.call("/VolumeDriver.Mount", mount));
    std::ofstream(f.fsx.root() / "volumes/qa/f") << "written";
    ok(f.call("/VolumeDriver.Unmount", mount));
    ok(f.call("/VolumeDriver.Remove", R"({"Name":"prod"})"));
    auto lost = f.call("/VolumeDriver.Mount", mount);
    CHECK(lost.status == 500);
    CHECK_THAT(err_of(lost), Catch::StartsWith("mount volume 'qa': its source, volume 'prod', no longer exists"));
    CHECK(ok(f.call("/VolumeDriver.Get", R"({"Name":"qa"})"))["Volume"]["Status"]["Mounts"].GetUint64() == 0);
}
