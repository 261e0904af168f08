// SPDX-License-Identifier: Apache-2.0
// Issue 29's serve-ssh holes through a real sshd and the forced command: rsync's escapes, one
// snapshot per receive session, deletes of the host's own snapshots, the free-space floor.
#include "../catch.hpp"
#include "replication_helpers.hpp"
#include "stream_files.hpp"

#include <fmt/format.h>

#include <sys/statvfs.h>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;
using Attr = stream::Attr;
using Cmd = stream::Cmd;

namespace {

const stream::Uuid uuid_1 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
const stream::Uuid uuid_2 = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
const stream::Uuid uuid_3 = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};

// ssh to host running command, its stdin read from the file input.
RunResult ssh_with_input(const SshHost& host, const std::string& command, const fs::path& input)
{
    return run({"sh", "-c",
                fmt::format("exec ssh -F '{}' -T -o BatchMode=yes {} \"$0\" < '{}'", ssh_client().config().native(),
                            host.alias(), input.native()),
                command});
}

// The ssh command line rsync is told to use (-e) to reach the test hosts.
std::string rsync_ssh()
{
    return fmt::format("ssh -F {} -T -o BatchMode=yes", ssh_client().config().native());
}

} // namespace

TEST_CASE("hardening: the replication key's rsync reads no arguments from stdin (issue 29 item 1)", "[hardening]")
{
    SshHost b("node-h1", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "data");
    const std::string vol = volume_dir(b.root(), "db").native() + "/";
    // rsync -s (--secluded-args): the real argument list comes on stdin, written by the key holder.
    const fs::path written = b.root().parent_path() / "written-by-rsync";
    const fs::path args = b.root().parent_path() / "args";
    sh(fmt::format("printf 'rsync\\0--server\\0--sender\\0-r\\0--log-file={}\\0.\\0/etc/hostname\\0\\0' > '{}'",
                   written.native(), args.native()));
    for (std::string flags : {"-s", "-se.iLsfxCIvu", "-logDtprsze.iLsfxCIvu"}) {
        INFO(flags);
        RunResult r = ssh_with_input(b, fmt::format("rsync --server --sender {} . {}", flags, vol), args);
        CHECK(r.status != 0);
        CHECK_THAT(r.err, Catch::Contains("refused"));
        CHECK(!fs::exists(written));
    }
}

TEST_CASE("hardening: the replication key's rsync follows no symlink out of the volume (issue 29 item 1)",
          "[hardening]")
{
    LocalPool a;
    SshHost b("node-h2", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "data");
    // What a container can leave in its volume: links to a root-only file and folder of the host.
    const fs::path outside = b.root().parent_path() / "host-only";
    sh(fmt::format("mkdir -m 700 '{0}' && printf TOPSECRET > '{0}/key' && chmod 600 '{0}/key' && "
                   "ln -s '{0}/key' '{1}/leak' && ln -s '{0}' '{1}/leakdir'",
                   outside.native(), volume_dir(b.root(), "db").native()));
    const std::string src = fmt::format("{}:{}/", b.alias(), volume_dir(b.root(), "db").native());
    for (std::string flag : {"-L", "-k", "--copy-unsafe-links", "--copy-dirlinks"}) {
        INFO(flag);
        const fs::path dest = a.root().parent_path() / "got";
        fs::remove_all(dest);
        fs::create_directories(dest);
        RunResult r = run({"rsync", "-a", "-z", flag, "-e", rsync_ssh(), "--", src, dest.native() + "/"});
        CHECK(r.status != 0);
        CHECK(sh(fmt::format("grep -rl TOPSECRET '{}' || true", dest.native())).empty());
    }
    // Our own sync still pulls the volume, links as links.
    put_file(a.root(), "db", "local", "l");
    RunResult s = bv(a.root(), {"sync", "--ssh-config", ssh_client().config().native(), "db", b.alias()});
    INFO(s.out << s.err);
    CHECK(s.status == 0);
    const fs::path got = volume_dir(a.root(), "db");
    CHECK(read_file(got / "f") == "data");
    CHECK(fs::is_symlink(got / "leak"));
    CHECK(sh(fmt::format("grep -rl TOPSECRET '{}' || true", got.native())).empty());
}

TEST_CASE("hardening: a failed receive session of several subvolumes leaves none (issue 29 item 2)", "[hardening]")
{
    SshHost b("node-h3", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "data");
    std::string own = take_snapshot(b.root(), "db");
    const std::string before = snapshot_entries(b.root());
    const fs::path file = b.root().parent_path() / "multi.stream";

    // The volume's snapshot, another volume's, a name that is no snapshot, then a bad command.
    StreamBuilder back_to_back;
    back_to_back.subvol("db@2024-01-01T00:00:00.000000", uuid_1).mkfile("a").write("a", 0, "one");
    back_to_back.subvol("other@2024-01-01T00:00:00.000000", uuid_2).mkfile("b").write("b", 0, "two");
    back_to_back.subvol("notasnapshot", uuid_3).mkfile("c").write("../escape", 0, "three").end();
    // The same as streams each with its END, one after the other (btrfs send of several, or cat).
    StreamBuilder s1, s2, s3;
    s1.subvol("db@2024-01-01T00:00:00.000000", uuid_1).mkfile("a").write("a", 0, "one").end();
    s2.subvol("other@2024-01-01T00:00:00.000000", uuid_2).mkfile("b").write("b", 0, "two").end();
    s3.subvol("notasnapshot", uuid_3).mkfile("c").write("../escape", 0, "three").end();
    std::vector<std::uint8_t> concatenated = s1.bytes();
    for (auto* s : {&s2, &s3}) {
        auto b2 = s->bytes();
        concatenated.insert(concatenated.end(), b2.begin(), b2.end());
    }
    for (const std::string& command :
         {std::string("buttervolume serve-ssh receive db"), "btrfs receive " + b.snapshots().native()}) {
        for (bool with_ends : {false, true}) {
            INFO(command << (with_ends ? ", streams with END" : ", back to back"));
            if (with_ends) {
                FileFd f(file, O_WRONLY | O_CREAT | O_TRUNC);
                REQUIRE(::write(f.get(), concatenated.data(), concatenated.size()) ==
                        static_cast<ssize_t>(concatenated.size()));
            } else {
                back_to_back.save(file);
            }
            RunResult r = ssh_with_input(b, command, file);
            CHECK(r.status != 0);
            CHECK(snapshot_entries(b.root()) == before);
        }
    }
    // One good snapshot of the named volume is still received.
    StreamBuilder good;
    good.subvol("db@2024-01-02T00:00:00.000000", uuid_1).mkfile("a").write("a", 0, "one").end();
    good.save(file);
    RunResult ok = ssh_with_input(b, "buttervolume serve-ssh receive db", file);
    INFO(ok.err);
    CHECK(ok.status == 0);
    CHECK(read_file(b.snapshots() / "db@2024-01-02T00:00:00.000000" / "a") == "one");
    CHECK(fs::exists(b.snapshots() / own));
}

TEST_CASE("hardening: the Python delete verb deletes only snapshots this host received (issue 29 item 4)",
          "[hardening]")
{
    LocalPool a;
    SshHost b("node-h4", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "made here");
    std::string own = take_snapshot(b.root(), "db");
    const std::string snaps = b.snapshots().native() + "/";
    for (std::string suffix : {"", " || true"}) {
        RunResult r = ssh_to(b, fmt::format("btrfs subvolume delete {}{}{}", snaps, own, suffix));
        INFO(r.err);
        CHECK(r.status != 0);
        CHECK_THAT(r.err, Catch::Contains("not received"));
        CHECK(fs::exists(b.snapshots() / own));
    }
    // A snapshot sent to it by another host is still the sender's to delete.
    put_file(a.root(), "db", "f", "sent");
    std::string sent = take_snapshot(a.root(), "db");
    REQUIRE(send_to(a.root(), b.alias(), sent).status == 0);
    REQUIRE(fs::exists(b.snapshots() / sent));
    RunResult del = ssh_to(b, fmt::format("btrfs subvolume delete {}{} || true", snaps, sent));
    INFO(del.err);
    CHECK(del.status == 0);
    CHECK(!fs::exists(b.snapshots() / sent));
}

TEST_CASE("hardening: a receive stops at the free-space floor and leaves nothing (issue 29, also noticed)",
          "[hardening]")
{
    SshHost b("node-h5", KeyMode::ServeSsh);
    put_file(b.root(), "db", "f", "data");
    const std::string before = snapshot_entries(b.root());
    struct statvfs st {};
    REQUIRE(::statvfs(b.root().c_str(), &st) == 0);
    const std::uint64_t total = std::uint64_t(st.f_blocks) * st.f_frsize;
    const std::uint64_t avail = std::uint64_t(st.f_bavail) * st.f_frsize;
    // A stream of a few bytes that allocates all but 2% of the pool: under the default 5% floor.
    const std::uint64_t size = (avail - total / 50) & ~std::uint64_t(0xfffff);
    const fs::path file = b.root().parent_path() / "big.stream";
    StreamBuilder big(2);
    big.subvol("db@2024-01-01T00:00:00.000000", uuid_1).mkfile("big");
    big.cmd(Cmd::Fallocate).str(Attr::Path, "big").u32(Attr::FallocateMode, 0).u64(Attr::FileOffset, 0).u64(Attr::Size,
                                                                                                          size);
    big.end().save(file);
    CHECK(fs::file_size(file) < 200);
    RunResult r = ssh_with_input(b, "buttervolume serve-ssh receive db", file);
    INFO(r.err);
    CHECK(r.status != 0);
    CHECK_THAT(r.err, Catch::Contains("floor"));
    CHECK(snapshot_entries(b.root()) == before);

    // Sizes that allocate nothing are no reason to refuse: a sparse 1 TiB file, a far offset.
    StreamBuilder sparse;
    sparse.subvol("db@2024-01-02T00:00:00.000000", uuid_2).mkfile("sparse");
    sparse.cmd(Cmd::Truncate).str(Attr::Path, "sparse").u64(Attr::Size, 1ULL << 40);
    sparse.write("sparse", (1ULL << 40) - 5, "tail").end().save(file);
    RunResult ok = ssh_with_input(b, "buttervolume serve-ssh receive db", file);
    INFO(ok.err);
    CHECK(ok.status == 0);
    CHECK(fs::file_size(b.snapshots() / "db@2024-01-02T00:00:00.000000" / "sparse") == (1ULL << 40));
}
