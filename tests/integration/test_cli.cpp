// SPDX-License-Identifier: Apache-2.0
// The buttervolume CLI as a user runs it: exit statuses, output, help, init on a loop image.
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {
RunResult bv(const fs::path& root, std::vector<std::string> args)
{
    args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
    return run(args);
}

std::size_t lines(const std::string& s)
{
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

std::string mounts_below(const fs::path& dir)
{
    return run({"sh", "-c", fmt::format("findmnt -rn -o TARGET | grep -E '^{}(/|$)' || true", dir.native())}).out;
}
} // namespace

TEST_CASE("cli: --help and --version on the program and every command", "[cli]")
{
    auto top = run({buttervolume_bin(), "--help"});
    CHECK(top.status == 0);
    CHECK_THAT(top.out, Catch::Contains("usage: buttervolume"));
    for (const char* cmd : {"init", "create", "volumes", "remove"}) {
        INFO(cmd);
        CHECK_THAT(top.out, Catch::Contains(cmd));
        auto help = run({buttervolume_bin(), cmd, "--help"});
        CHECK(help.status == 0);
        CHECK_THAT(help.out, Catch::StartsWith(fmt::format("usage: buttervolume {}", cmd)));
        CHECK_THAT(help.out, Catch::Contains("--root DIR"));
    }
    auto version = run({buttervolume_bin(), "--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.out, Catch::Matches("buttervolume \\d+\\.\\d+\\.\\d+\n"));
}

TEST_CASE("cli: usage errors exit 2 with one line and a pointer to --help", "[cli]")
{
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"frobnicate"}, {}, {"create"}, {"create", "a", "b"}, {"volumes", "--bogus"}, {"create", "-o"},
             {"--no-such-global"}, {"volumes", "--json=yes"}}) {
        args.insert(args.begin(), buttervolume_bin());
        auto r = run(args);
        INFO(fmt::format("{}", fmt::join(args, " ")));
        CHECK(r.status == 2);
        CHECK(r.out.empty());
        CHECK(lines(r.err) == 2);
        CHECK_THAT(r.err, Catch::Contains("--help"));
    }
}

TEST_CASE("cli: create, list as a table and as JSON, remove", "[cli]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    auto created = bv(fsx.root(), {"create", "db", "-o", "size=64M", "-o", "compression=zstd"});
    REQUIRE(created.status == 0);
    CHECK(created.out == "db\n");
    CHECK(bv(fsx.root(), {"create", "logs", "-o", "copyonwrite=false"}).status == 0);
    CHECK(fs::is_directory(fsx.root() / "volumes" / "db"));

    auto table = bv(fsx.root(), {"volumes"});
    CHECK(table.status == 0);
    CHECK_THAT(table.out, Catch::StartsWith("NAME"));
    CHECK(lines(table.out) == 3);
    CHECK_THAT(table.out, Catch::Matches("(.|\n)*db +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +cow +zstd +64M(.|\n)*"));
    CHECK_THAT(table.out, Catch::Matches("(.|\n)*logs +\\S+ +nocow +- +-(.|\n)*"));

    auto json = bv(fsx.root(), {"volumes", "--json"});
    CHECK(json.status == 0);
    rapidjson::Document doc;
    doc.Parse(json.out.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsArray());
    REQUIRE(doc.Size() == 2);
    CHECK(std::string(doc[0]["Name"].GetString()) == "db");
    CHECK(std::string(doc[0]["Mountpoint"].GetString()) == (fsx.root() / "volumes" / "db").native());
    CHECK(doc[0]["SizeLimit"].GetUint64() == (64ULL << 20));
    CHECK(std::string(doc[0]["Compression"].GetString()) == "zstd");
    CHECK(doc[0]["CopyOnWrite"].GetBool());
    CHECK(std::string(doc[1]["Name"].GetString()) == "logs");
    CHECK_FALSE(doc[1]["CopyOnWrite"].GetBool());
    CHECK(doc[1]["SizeLimit"].IsNull());

    auto removed = bv(fsx.root(), {"remove", "db"});
    CHECK(removed.status == 0);
    CHECK_FALSE(fs::exists(fsx.root() / "volumes" / "db"));
    auto again = bv(fsx.root(), {"remove", "db"});
    CHECK(again.status == 1);
    CHECK(again.err == "buttervolume: remove volume 'db': no such volume\n");
}

TEST_CASE("cli: bad names and options exit 1 with one clear line and change nothing", "[cli]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    CHECK(bv(fsx.root(), {"volumes"}).status == 0); // creates the layout
    std::string before = tree_listing(fsx.mnt());
    auto bad_name = bv(fsx.root(), {"create", "../escape"});
    CHECK(bad_name.status == 1);
    CHECK(bad_name.err ==
          "buttervolume: invalid volume name '../escape': it must start with a letter or digit, not '.'\n");
    auto bad_opt = bv(fsx.root(), {"create", "v", "-o", "sise=1G"});
    CHECK(bad_opt.status == 1);
    CHECK(bad_opt.err == "buttervolume: unknown volume option 'sise': valid options are copyonwrite, nocow, "
                         "compression, size, from, ephemeral\n");
    auto bad_size = bv(fsx.root(), {"create", "v", "-o", "size=big"});
    CHECK(bad_size.status == 1);
    CHECK(lines(bad_size.err) == 1);
    CHECK(tree_listing(fsx.mnt()) == before);
}

TEST_CASE("cli: the root comes from --root, BUTTERVOLUME_ROOT, and the Python path variables", "[cli]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    auto r = run({buttervolume_bin(), "create", "fromenv"}, {"BUTTERVOLUME_ROOT=" + fsx.root().native()});
    CHECK(r.status == 0);
    CHECK(fs::is_directory(fsx.root() / "volumes" / "fromenv"));
    fs::path legacy = fsx.mnt() / "legacy-volumes";
    auto py = run({buttervolume_bin(), "create", "legacy"},
                  {"BUTTERVOLUME_ROOT=" + fsx.root().native(), "BUTTERVOLUME_VOLUMES_PATH=" + legacy.native()});
    CHECK(py.status == 0);
    CHECK(fs::is_directory(legacy / "legacy"));
    auto missing = run({buttervolume_bin(), "--root", (fsx.mnt() / "nope").native(), "volumes"});
    CHECK(missing.status == 1);
    CHECK_THAT(missing.err, Catch::Contains("does not exist (run 'buttervolume init')"));
}

TEST_CASE("cli: init makes a loop-mounted btrfs image where the root is not on btrfs, and is idempotent", "[cli]")
{
    fs::path base = scratch_dir() / "init-test";
    fs::path root = base / "buttervolume";
    fs::path image = base / "pool.img";
    fs::create_directories(base);
    auto first = run({buttervolume_bin(), "--root", root.native(), "init", "--image", image.native(), "--size", "300M"});
    INFO(first.out << first.err);
    REQUIRE(first.status == 0);
    CHECK_THAT(first.out, Catch::Contains("created " + image.native()));
    CHECK_THAT(first.out, Catch::Contains("pool ready at " + root.native()));
    CHECK(fs::file_size(image) == 300ULL << 20);
    CHECK(sh(fmt::format("stat -f -c %T '{}'", root.native())) == "btrfs\n");
    for (const char* d : {"volumes", "snapshots", "config", "state"})
        CHECK(fs::is_directory(root / d));
    std::string mounted = mounts_below(base);
    CHECK(lines(mounted) == 1);

    CHECK(run({buttervolume_bin(), "--root", root.native(), "create", "kept"}).status == 0);
    auto second = run({buttervolume_bin(), "--root", root.native(), "init", "--image", image.native()});
    CHECK(second.status == 0);
    CHECK_THAT(second.out, !Catch::Contains("created") && !Catch::Contains("mounted"));
    CHECK(mounts_below(base) == mounted);
    CHECK(fs::is_directory(root / "volumes" / "kept"));

    // After an unmount (a reboot), init mounts the existing image again and keeps the volumes.
    sh(fmt::format("umount '{}'", root.native()));
    auto third = run({buttervolume_bin(), "--root", root.native(), "init", "--image", image.native()});
    CHECK(third.status == 0);
    CHECK_THAT(third.out, Catch::Contains("mounted") && !Catch::Contains("created"));
    CHECK(fs::is_directory(root / "volumes" / "kept"));
    sh(fmt::format("umount '{}'", root.native()));
}

TEST_CASE("cli: init refuses to hide a non-empty directory under a mount", "[cli]")
{
    fs::path root = scratch_dir() / "init-nonempty";
    fs::create_directories(root);
    sh(fmt::format("echo precious > '{}/data'", root.native()));
    auto r = run({buttervolume_bin(), "--root", root.native(), "init", "--image", (scratch_dir() / "x.img").native()});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("is not on btrfs and is not empty"));
    CHECK_FALSE(fs::exists(scratch_dir() / "x.img"));
    CHECK(sh(fmt::format("cat '{}/data'", root.native())) == "precious\n");
}
