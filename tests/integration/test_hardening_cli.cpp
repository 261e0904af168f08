// SPDX-License-Identifier: Apache-2.0
// Issue 12 regressions through the CLI: data loss, lies in exit statuses, full and read-only pools.
#include "../catch.hpp"
#include "fixture.hpp"

#include <fmt/format.h>

#include <rapidjson/document.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

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

// `buttervolume --root ROOT ARGS` with the shell redirections in `redirect` ("2>/dev/full").
RunResult bv_redirected(const fs::path& root, const std::string& args, const std::string& redirect)
{
    fs::create_directories(root);
    return run({"sh", "-c", fmt::format("exec \"$0\" --root '{}' {} {}", root.native(), args, redirect),
                buttervolume_bin()});
}

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const std::string& s)
{
    std::ofstream(p, std::ios::binary) << s;
}

std::string snapshot_of(const fs::path& root, const std::string& volume)
{
    auto r = bv(root, {"snapshot", volume});
    REQUIRE(r.status == 0);
    return r.out.substr(0, r.out.size() - 1);
}

std::vector<std::string> snapshot_names(const fs::path& root)
{
    auto r = bv(root, {"snapshots", "--json"});
    REQUIRE(r.status == 0);
    rapidjson::Document doc;
    doc.Parse(r.out.c_str());
    std::vector<std::string> names;
    for (const auto& s : doc.GetArray())
        names.emplace_back(s["Name"].GetString());
    return names;
}

std::string boot_id()
{
    return sh("cat /proc/sys/kernel/random/boot_id").substr(0, 36);
}

// A pool whose filesystem is full: data written until ENOSPC, so a new state record fails.
void fill(const fs::path& dir)
{
    run({"sh", "-c", fmt::format("dd if=/dev/zero of='{}/fill' bs=1M 2>/dev/null; sync", dir.native())});
}

} // namespace

TEST_CASE("hardening: a failed export -o FILE keeps FILE (item 1)", "[hardening]")
{
    BtrfsFixture fsx;
    fs::path backup = fsx.mnt() / "backup.stream";
    spit(backup, "yesterday's good backup\n");
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    auto r = bv(fsx.root(), {"export", "v@2020-01-01T00:00:00.000000", "-o", backup.native()});
    CHECK(r.status == 1);
    CHECK(slurp(backup) == "yesterday's good backup\n");
    fs::path fresh = fsx.mnt() / "new.stream";
    CHECK(bv(fsx.root(), {"export", "v@2020-01-01T00:00:00.000000", "-o", fresh.native()}).status == 1);
    CHECK_FALSE(fs::exists(fresh));
}

TEST_CASE("hardening: remove refuses a volume bind-mounted outside the plugin's counts (item 2)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    spit(fsx.root() / "volumes" / "v" / "data", "precious\n");
    fs::path where = fsx.mnt() / "container-data";
    fs::create_directories(where);
    sh(fmt::format("mount --bind '{}' '{}'", (fsx.root() / "volumes" / "v").native(), where.native()));
    auto r = bv(fsx.root(), {"remove", "v"});
    sh(fmt::format("umount '{}'", where.native()));
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("mounted"));
    CHECK(slurp(fsx.root() / "volumes" / "v" / "data") == "precious\n");
}

TEST_CASE("hardening: output that cannot be written is an error, never an abort or exit 0 (item 4)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    auto full_stdout = bv_redirected(fsx.root(), "snapshot v", ">/dev/full");
    CHECK(full_stdout.status == 1);
    CHECK_THAT(full_stdout.err, Catch::Contains("stdout"));
    auto full_stderr = bv_redirected(fsx.root(), "remove nosuch", "2>/dev/full");
    CHECK(full_stderr.status == 1); // not 134: SIGABRT and a core dump
    fs::path status = fsx.mnt() / "status";
    run({"sh", "-c", fmt::format("(sleep 0.3; \"$0\" --root '{}' snapshot v; echo $? > '{}') | true",
                                 fsx.root().native(), status.native()),
         buttervolume_bin()});
    CHECK(slurp(status) == "1\n"); // a closed pipe: the name printed was lost
}

TEST_CASE("hardening: an import of concatenated streams with a bad one names all it kept (item 5)", "[hardening]")
{
    BtrfsFixture fsx;
    fs::path src = fsx.mnt() / "src";
    std::string streams;
    for (const char* v : {"a", "b", "c"}) {
        CHECK(bv(src, {"create", v}).status == 0);
        fs::path file = fsx.mnt() / fmt::format("{}.stream", v);
        CHECK(bv(src, {"export", snapshot_of(src, v), "-o", file.native()}).status == 0);
        streams += slurp(file);
    }
    // The last stream corrupted in its middle: its CRC no longer matches.
    streams[streams.size() - 40] ^= 0x55;
    spit(fsx.mnt() / "all.stream", streams);
    fs::path dst = fsx.mnt() / "dst";
    auto r = bv(dst, {"import", "-i", (fsx.mnt() / "all.stream").native()});
    CHECK(r.status == 1);
    for (const auto& kept : snapshot_names(dst)) {
        INFO(kept << "\n" << r.out << r.err);
        CHECK_THAT(r.out + r.err, Catch::Contains(kept));
    }
}

TEST_CASE("hardening: listing snapshots while they are deleted never fails (item 6)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    std::string names;
    for (int i = 0; i < 3; ++i)
        names += fmt::format(" '{}'", snapshot_of(fsx.root(), "v"));
    // The listing's ioctls wait 0.5 s on entry, so that the rm deletes the snapshots while the
    // listing holds the first one open, between its open and its GET_SUBVOL_INFO.
    fs::path out = fsx.mnt() / "listing.err";
    std::string script = fmt::format(
        "env '{3}' strace -f -qq -o /dev/null -e trace=ioctl -e inject=ioctl:delay_enter=500000 \"$0\" "
        "--root '{0}' snapshots v --json >/dev/null 2>'{1}' & s=$!\n"
        "for i in $(seq 500); do ls -l /proc/*/fd 2>/dev/null | grep -q -- '-> {0}/snapshots/v@' && break; sleep 0.01; done\n"
        "\"$0\" --root '{0}' rm {2} >/dev/null\n"
        "wait $s",
        fsx.root().native(), out.native(), names, asan_options_under_ptrace());
    auto r = run({"sh", "-c", script, buttervolume_bin()});
    INFO(slurp(out));
    CHECK(r.status == 0);
}

TEST_CASE("hardening: on a full pool reads work and rm's status tells what happened (item 7)", "[hardening]")
{
    BtrfsFixture fsx(256ULL << 20);
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    // Snapshots taken behind the pool's back: listing them would write a new count record.
    for (const char* ts : {"2020-01-01T00:00:00.000000", "2020-01-02T00:00:00.000000"})
        sh(fmt::format("btrfs -q subvolume snapshot -r '{0}/volumes/v' '{0}/snapshots/v@{1}'", fsx.root().native(), ts));
    fill(fsx.root() / "volumes" / "v");
    auto list = bv(fsx.root(), {"snapshots", "v"});
    INFO(list.err);
    CHECK(list.status == 0);
    CHECK(bv(fsx.root(), {"volumes"}).status == 0);
    auto rm = bv(fsx.root(), {"rm", "v@2020-01-01T00:00:00.000000"});
    bool gone = !fs::exists(fsx.root() / "snapshots" / "v@2020-01-01T00:00:00.000000");
    INFO(rm.err);
    CHECK(rm.status == (gone ? 0 : 1));
}

TEST_CASE("hardening: on a read-only pool reads work (item 8)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    snapshot_of(fsx.root(), "v");
    sh(fmt::format("mount -o remount,ro '{}'", fsx.mnt().native()));
    auto list = bv(fsx.root(), {"snapshots", "v"});
    auto vols = bv(fsx.root(), {"volumes"});
    sh(fmt::format("mount -o remount,rw '{}'", fsx.mnt().native()));
    INFO(list.err << vols.err);
    CHECK(list.status == 0);
    CHECK(vols.status == 0);
}

TEST_CASE("hardening: an unparseable mount count is reported with its path, never taken as unmounted (item 9)",
          "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    spit(fsx.root() / "state" / "mounts" / "v", fmt::format("boot {}\nc0ffee lots\n", boot_id()));
    auto r = bv(fsx.root(), {"remove", "v"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("state/mounts/v"));
    CHECK(fs::is_directory(fsx.root() / "volumes" / "v"));
}

TEST_CASE("hardening: option names that differ only in case are refused (item 10)", "[hardening]")
{
    BtrfsFixture fsx;
    auto r = bv(fsx.root(), {"create", "v", "-o", "size=2G", "-o", "SIZE=1G"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("size"));
    CHECK_FALSE(fs::exists(fsx.root() / "volumes" / "v"));
}

TEST_CASE("hardening: opening the pool removes state files a killed writer left (item 11)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    snapshot_of(fsx.root(), "v");
    fs::path stale_mounts = fsx.root() / "state" / "mounts" / ".v.0123456789abcdef.tmp";
    fs::path stale_record = fsx.root() / "state" / "snapshots" / ".v.0123456789abcdef.tmp";
    spit(stale_mounts, "boot x\n");
    spit(stale_record, "count 1\n");
    CHECK(bv(fsx.root(), {"volumes"}).status == 0);
    CHECK_FALSE(fs::exists(stale_mounts));
    CHECK_FALSE(fs::exists(stale_record));
}

TEST_CASE("hardening: export -o FILE writes the stream 0600 and --help says so (item 13)", "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "v"}).status == 0);
    std::string snap = snapshot_of(fsx.root(), "v");
    fs::path fresh = fsx.mnt() / "fresh.stream";
    fs::path existing = fsx.mnt() / "existing.stream";
    spit(existing, "old\n");
    ::chmod(existing.c_str(), 0644);
    for (const auto& out : {fresh, existing}) {
        INFO(out);
        REQUIRE(bv_redirected(fsx.root(), fmt::format("export '{}' -o '{}'", snap, out.native()), "").status == 0);
        struct stat st {};
        REQUIRE(::stat(out.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);
    }
    CHECK_THAT(run({buttervolume_bin(), "export", "--help"}).out, Catch::Contains("0600"));
}

TEST_CASE("hardening: export --proto accepts exactly the versions its --help lists (also seen)", "[hardening]")
{
    auto help = run({buttervolume_bin(), "export", "--help"}).out;
    std::smatch line;
    REQUIRE(std::regex_search(help, line, std::regex("--proto N +([^\n]*)")));
    std::set<char> listed, accepted;
    for (char c : line[1].str())
        if (c >= '0' && c <= '9')
            listed.insert(c);
    BtrfsFixture fsx;
    for (char v = '0'; v <= '5'; ++v) // exit 2: refused as usage; 1: accepted, then no such snapshot
        if (bv(fsx.root(), {"export", "--proto", std::string(1, v), "v@2020-01-01T00:00:00.000000"}).status != 2)
            accepted.insert(v);
    CHECK(listed == accepted);
}

TEST_CASE("hardening: USED of a volume filled before quotas were on is its usage or unknown (also seen)",
          "[hardening]")
{
    BtrfsFixture fsx;
    CHECK(bv(fsx.root(), {"create", "old"}).status == 0);
    REQUIRE(write_bytes(fsx.root() / "volumes" / "old" / "data", 8ULL << 20) == 0);
    CHECK(bv(fsx.root(), {"create", "limited", "-o", "size=64M"}).status == 0); // turns quotas on
    auto r = bv(fsx.root(), {"volumes", "--json"});
    rapidjson::Document doc;
    doc.Parse(r.out.c_str());
    REQUIRE(doc.IsArray());
    for (const auto& v : doc.GetArray())
        if (std::string(v["Name"].GetString()) == "old") {
            INFO(r.out);
            CHECK((v["SizeUsed"].IsNull() || v["SizeUsed"].GetUint64() >= (8ULL << 20)));
        }
}
