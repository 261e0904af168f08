// SPDX-License-Identifier: Apache-2.0
// Native send and receive against btrfs-progs, both ways, compared by an independent digest.
#include "../catch.hpp"
#include "fixture.hpp"
#include "stream_files.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/receive.hpp>
#include <buttervolume/send.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

// Source subvolume t with snapshots t1 (the generated tree) and t2 (after the changes).
struct Trees {
    BtrfsFixture fx{2ULL << 30};
    fs::path mnt = fx.mnt();
    Trees()
    {
        sh(fmt::format("cd '{}' && btrfs subvolume create t >/dev/null && sh '{}' t && "
                       "btrfs subvolume snapshot -r t t1 >/dev/null && sh '{}' t && "
                       "btrfs subvolume snapshot -r t t2 >/dev/null && mkdir ours progs",
                       mnt.native(), script("make_tree.sh"), script("change_tree.sh")));
    }
};

void progs_send(const fs::path& mnt, const std::string& args, const fs::path& out)
{
    sh(fmt::format("cd '{}' && btrfs send -q {} > '{}'", mnt.native(), args, out.native()));
}

void progs_receive(const fs::path& dest, const fs::path& stream)
{
    sh(fmt::format("btrfs receive -q '{}' < '{}'", dest.native(), stream.native()));
}

std::vector<ReceivedSnapshot> our_receive(const fs::path& dest, const fs::path& stream, const ReceiveOptions& o = {})
{
    FileFd in(stream, O_RDONLY);
    return receive_stream(in.get(), dest, o);
}

void our_send(const fs::path& snap, const fs::path& out, const SendOptions& o = {})
{
    FileFd f(out, O_WRONLY | O_CREAT | O_TRUNC);
    send_snapshot(snap, f.get(), o);
}

} // namespace

TEST_CASE("receive: streams from btrfs send give the same trees as btrfs receive, full and incremental",
          "[receive]")
{
    Trees t;
    const fs::path s1 = scratch_dir() / "recv-t1.stream", s2 = scratch_dir() / "recv-t2.stream";
    struct Mode {
        const char* args;
        bool decompress;
    };
    for (Mode m : {Mode{"--proto 1", false}, Mode{"--proto 2 --compressed-data", false},
                   Mode{"--proto 2 --compressed-data", true}}) {
        INFO("btrfs send " << m.args << (m.decompress ? " (decompressing)" : ""));
        progs_send(t.mnt, fmt::format("{} t1", m.args), s1);
        progs_send(t.mnt, fmt::format("{} -p t1 t2", m.args), s2);
        ReceiveOptions o;
        o.decompress = m.decompress;
        auto r1 = our_receive(t.mnt / "ours", s1, o);
        REQUIRE(r1.size() == 1);
        CHECK(r1[0].name == "t1");
        CHECK(r1[0].parent.empty());
        auto r2 = our_receive(t.mnt / "ours", s2, o);
        REQUIRE(r2.size() == 1);
        CHECK(r2[0].parent == "t1");
        progs_receive(t.mnt / "progs", s1);
        progs_receive(t.mnt / "progs", s2);
        for (const char* s : {"t1", "t2"}) {
            INFO(s);
            std::string theirs = tree_digest(t.mnt / "progs" / s);
            CHECK(tree_digest(t.mnt / "ours" / s) == theirs);
            CHECK(tree_digest(t.mnt / s) == theirs);
            // Received, read-only, parent set exactly when incremental.
            std::string show = sh(fmt::format("btrfs subvolume show '{}'", (t.mnt / "ours" / s).native()));
            CHECK_THAT(show, Catch::Contains("readonly"));
            CHECK_THAT(show, !Catch::Matches(".*Received UUID:\\s+-\\n.*", Catch::CaseSensitive::Yes));
        }
        if (!m.decompress && std::string(m.args).find("compressed") != std::string::npos) {
            // Passed through as compressed extents, not rewritten.
            CHECK_THAT(sh(fmt::format("filefrag -v '{}'", (t.mnt / "ours/t1/compressed/text").native())),
                       Catch::Contains("encoded"));
        }
        sh(fmt::format("btrfs subvolume delete -c '{}'/ours/* '{}'/progs/* >/dev/null", t.mnt.native(), t.mnt.native()));
    }
}

TEST_CASE("send: btrfs receive of our streams equals the source, and the bytes equal btrfs send's", "[send]")
{
    Trees t;
    const fs::path ours = scratch_dir() / "send-ours.stream", theirs = scratch_dir() / "send-theirs.stream";
    for (std::uint32_t proto : {1u, 2u}) {
        INFO("protocol " << proto);
        SendOptions full;
        full.protocol = proto;
        our_send(t.mnt / "t1", ours, full);
        progs_send(t.mnt, fmt::format("--proto {} t1", proto), theirs);
        CHECK(sh(fmt::format("cmp '{}' '{}' && echo same", ours.native(), theirs.native())) == "same\n");
        progs_receive(t.mnt / "progs", ours);

        SendOptions inc = full;
        inc.parent = t.mnt / "t1";
        our_send(t.mnt / "t2", ours, inc);
        progs_send(t.mnt, fmt::format("--proto {} -p t1 t2", proto), theirs);
        CHECK(sh(fmt::format("cmp '{}' '{}' && echo same", ours.native(), theirs.native())) == "same\n");
        progs_receive(t.mnt / "progs", ours);
        CHECK(tree_digest(t.mnt / "progs/t1") == tree_digest(t.mnt / "t1"));
        CHECK(tree_digest(t.mnt / "progs/t2") == tree_digest(t.mnt / "t2"));
        sh(fmt::format("btrfs subvolume delete -c '{}'/progs/* >/dev/null", t.mnt.native()));
    }
    SECTION("compressed passthrough and the default protocol")
    {
        SendOptions o;
        o.compressed = true;
        our_send(t.mnt / "t1", ours, o);
        progs_send(t.mnt, "--proto 0 --compressed-data t1", theirs);
        CHECK(sh(fmt::format("cmp '{}' '{}' && echo same", ours.native(), theirs.native())) == "same\n");
        CHECK_THAT(sh(fmt::format("btrfs receive --dump < '{}'", ours.native())), Catch::Contains("encoded_write"));
    }
}

TEST_CASE("send: refuses writable or foreign snapshots with a clear error", "[send]")
{
    Trees t;
    const fs::path out = scratch_dir() / "refused.stream";
    CHECK_THROWS_WITH(our_send(t.mnt / "t", out), Catch::Contains("not read-only"));
    CHECK_THROWS_WITH(our_send(t.mnt / "ours", out), Catch::Contains("not a btrfs subvolume"));
    SendOptions o;
    o.parent = t.mnt / "t";
    CHECK_THROWS_WITH(our_send(t.mnt / "t2", out, o), Catch::Contains("parent"));
    o.parent.reset();
    o.protocol = 99;
    CHECK_THROWS_AS(our_send(t.mnt / "t1", out, o), InvalidArgument);
    o.protocol = 1;
    o.compressed = true;
    CHECK_THROWS_WITH(our_send(t.mnt / "t1", out, o), Catch::Contains("protocol 2"));
}

TEST_CASE("send: a reader that goes away gives an error, never SIGPIPE", "[send]")
{
    Trees t;
    // SIGPIPE at its default action: if either thread took it, the test process would die.
    struct sigaction old {}, dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, &old);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    std::thread reader([fd = p[0]] {
        char buf[4096];
        (void)::read(fd, buf, sizeof buf);
        ::close(fd);
    });
    int err = 0;
    try {
        send_snapshot(t.mnt / "t1", p[1]);
    } catch (const Error& e) {
        err = e.code().value();
        CHECK_THAT(e.what(), Catch::Contains("Broken pipe"));
    }
    reader.join();
    ::close(p[1]);
    ::sigaction(SIGPIPE, &old, nullptr);
    CHECK(err == EPIPE);
    // Still alive, and SIGPIPE is not left pending or blocked.
    sigset_t pending;
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGPIPE) == 0);
}

TEST_CASE("receive: progress reports every byte and command; cancel leaves nothing", "[receive]")
{
    Trees t;
    const fs::path s1 = scratch_dir() / "progress.stream";
    progs_send(t.mnt, "--proto 2 t1", s1);
    std::uint64_t commands = std::stoull(sh(fmt::format("btrfs receive --dump < '{}' | wc -l", s1.native()))) + 1;
    StreamProgress last;
    ReceiveOptions o;
    o.progress = [&](const StreamProgress& p) { last = p; };
    our_receive(t.mnt / "ours", s1, o);
    CHECK(last.bytes == fs::file_size(s1));
    CHECK(last.commands == commands); // every command but END is listed by --dump

    fs::create_directory(t.mnt / "cancelled");
    ReceiveOptions c;
    int n = 0;
    c.cancel = [&] { return ++n > 50; };
    CHECK_THROWS_AS(our_receive(t.mnt / "cancelled", s1, c), Error);
    CHECK(fs::is_empty(t.mnt / "cancelled"));
}

TEST_CASE("receive: the CLI imports into the pool's snapshots and exports back", "[receive]")
{
    Trees t;
    const fs::path root = t.mnt / "pool";
    fs::create_directory(root);
    const fs::path s1 = scratch_dir() / "cli.stream";
    progs_send(t.mnt, "t1", s1);
    auto r = run({buttervolume_bin(), "--root", root.native(), "import", "-i", s1.native()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out == "t1\n");
    CHECK(tree_digest(root / "snapshots/t1") == tree_digest(t.mnt / "t1"));
    // Importing again: the name is taken; nothing else appears.
    r = run({buttervolume_bin(), "--root", root.native(), "import", "-i", s1.native()});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("exists"));
    CHECK(sh(fmt::format("ls -A '{}'", (root / "snapshots").native())) == "t1\n");
    // export of the received snapshot, by name, received by btrfs-progs.
    const fs::path back = scratch_dir() / "cli-back.stream";
    r = run({buttervolume_bin(), "--root", root.native(), "export", "t1", "-o", back.native()});
    REQUIRE(r.status == 0);
    progs_receive(t.mnt / "progs", back);
    CHECK(tree_digest(t.mnt / "progs/t1") == tree_digest(t.mnt / "t1"));
    r = run({buttervolume_bin(), "dump-stream", "-i", back.native()});
    CHECK(r.status == 0);
    CHECK(r.out == sh(fmt::format("btrfs receive --dump < '{}'", back.native())));
}

TEST_CASE("receive: an import interrupted by a signal leaves nothing; one killed is cleaned up next time",
          "[receive]")
{
    Trees t;
    const fs::path s1 = scratch_dir() / "interrupted.stream";
    progs_send(t.mnt, "t1", s1);
    const fs::path dest = t.mnt / "ours";
    // Half of the stream, then the writer stalls: the import is in the middle of a receive.
    auto import_then = [&](const char* sig) {
        return sh(fmt::format("(head -c 3000000 '{}'; sleep 4) | '{}' import --dest '{}' 2>/dev/null & pid=$!; "
                              "sleep 2; ls -A '{}'; kill -{} $pid; wait $pid; echo status=$?",
                              s1.native(), buttervolume_bin(), dest.native(), dest.native(), sig));
    };
    std::string out = import_then("TERM");
    CHECK_THAT(out, Catch::StartsWith(".recv.")); // it was under way, under a hidden name
    CHECK_THAT(out, Catch::EndsWith("status=1\n"));
    CHECK(fs::is_empty(dest));

    out = import_then("KILL");
    CHECK_THAT(out, Catch::EndsWith("status=137\n"));
    CHECK_FALSE(fs::is_empty(dest)); // a killed process cannot clean up...
    auto r = run({buttervolume_bin(), "import", "--dest", dest.native(), "-i", s1.native()});
    CHECK(r.status == 0);
    CHECK(sh(fmt::format("ls -A '{}'", dest.native())) == "t1\n"); // ...the next import does
}

TEST_CASE("receive: the leftover of an import killed into a pool is removed when the pool is next opened",
          "[receive]")
{
    Trees t;
    const fs::path s1 = scratch_dir() / "killed-pool.stream";
    progs_send(t.mnt, "t1", s1);
    const fs::path root = t.mnt / "pool";
    fs::create_directories(root);
    std::string out = sh(fmt::format("(head -c 3000000 '{}'; sleep 4) | '{}' --root '{}' import 2>/dev/null & pid=$!; "
                                     "sleep 2; ls -A '{}/snapshots'; kill -KILL $pid; wait $pid; echo status=$?",
                                     s1.native(), buttervolume_bin(), root.native(), root.native()));
    CHECK_THAT(out, Catch::StartsWith(".recv."));
    CHECK_THAT(out, Catch::EndsWith("status=137\n"));
    CHECK_FALSE(fs::is_empty(root / "snapshots"));
    // Any command that opens the pool (here a listing) removes what the killed import left.
    auto r = run({buttervolume_bin(), "--root", root.native(), "volumes"});
    CHECK(r.status == 0);
    CHECK(fs::is_empty(root / "snapshots"));
}

TEST_CASE("receive: a pool opened from another PID namespace leaves a running import alone", "[receive]")
{
    Trees t;
    const fs::path s1 = scratch_dir() / "live.stream";
    progs_send(t.mnt, "t1", s1);
    const fs::path root = t.mnt / "pool";
    fs::create_directories(root);
    // The import stalls halfway for 4 s; meanwhile a buttervolume in a new PID namespace (as the
    // managed plugin runs) opens the pool: the importer's pid is invisible there.
    std::string out = sh(fmt::format(
        "(head -c 3000000 '{0}'; sleep 4; tail -c +3000001 '{0}') | '{1}' --root '{2}' import >/dev/null 2>&1 & pid=$!; "
        "sleep 2; ls -A '{2}/snapshots'; unshare --pid --fork --mount-proc '{1}' --root '{2}' volumes >/dev/null; "
        "wait $pid; echo status=$?; ls -A '{2}/snapshots'",
        s1.native(), buttervolume_bin(), root.native()));
    CHECK_THAT(out, Catch::StartsWith(".recv."));
    CHECK_THAT(out, Catch::EndsWith("status=0\nt1\n"));
}

TEST_CASE("receive: file attributes changed between snapshots are applied (btrfs receive ignores them)",
          "[receive]")
{
    BtrfsFixture fx;
    const fs::path m = fx.mnt();
    sh(fmt::format("cd '{}' && btrfs subvolume create a >/dev/null && touch a/nocow a/immutable && echo x > a/nodump && "
                   "echo y > a/append && btrfs subvolume snapshot -r a a1 >/dev/null && chattr +C a/nocow && "
                   "chattr +i a/immutable && chattr +d a/nodump && chattr +a a/append && "
                   "btrfs subvolume snapshot -r a a2 >/dev/null && mkdir ours",
                   m.native()));
    const fs::path s1 = scratch_dir() / "attr1.stream", s2 = scratch_dir() / "attr2.stream";
    our_send(m / "a1", s1);
    SendOptions inc;
    inc.parent = m / "a1";
    our_send(m / "a2", s2, inc);
    our_receive(m / "ours", s1);
    our_receive(m / "ours", s2);
    auto attrs = [](const fs::path& d) {
        return sh(fmt::format("cd '{}' && lsattr -d nocow immutable nodump append", d.native()));
    };
    CHECK(attrs(m / "ours/a2") == attrs(m / "a2"));
    CHECK_THAT(attrs(m / "ours/a2"), Catch::Contains("i-") || Catch::Contains("-i"));
    CHECK(tree_digest(m / "ours/a2") == tree_digest(m / "a2"));
}

TEST_CASE("receive: a parent changed since the stream was made is refused (transid check)", "[receive]")
{
    BtrfsFixture fx;
    const fs::path d = fx.mnt() / "dest";
    sh(fmt::format("mkdir '{0}' && cd '{0}' && btrfs subvolume create x >/dev/null && echo 1 > x/f && "
                   "btrfs subvolume snapshot -r x x1 >/dev/null && echo 2 >> x/f && "
                   "btrfs subvolume snapshot -r x x2 >/dev/null",
                   d.native()));
    const fs::path s = scratch_dir() / "transid.stream";
    SendOptions inc;
    inc.parent = d / "x1";
    our_send(d / "x2", s, inc);
    sh(fmt::format("btrfs subvolume delete -c '{}' >/dev/null", (d / "x2").native()));
    // The parent as sent: found by its own UUID in the destination, received.
    auto r = our_receive(d, s);
    REQUIRE(r.size() == 1);
    CHECK(r[0].parent == "x1");
    CHECK(sh(fmt::format("cat '{}'", (d / "x2/f").native())) == "1\n2\n");
    sh(fmt::format("btrfs subvolume delete -c '{}' >/dev/null", (d / "x2").native()));
    // Made writable, changed, made read-only again: its transid moved on.
    sh(fmt::format("btrfs property set '{0}' ro false && echo changed > '{0}/f' && sync && btrfs property set '{0}' ro true",
                   (d / "x1").native()));
    CHECK_THROWS_WITH(our_receive(d, s), Catch::Contains("changed since it was sent"));
    CHECK(sh(fmt::format("ls -A '{}'", d.native())) == "x\nx1\n");
}

TEST_CASE("receive: zlib, lzo and zstd extents are decompressed when not passed through", "[receive]")
{
    BtrfsFixture fx;
    const fs::path m = fx.mnt();
    sh(fmt::format("cd '{}' && btrfs subvolume create c >/dev/null && for a in zlib lzo zstd; do mkdir c/$a && "
                   "btrfs property set c/$a compression $a && yes \"$a data, compressible\" | head -c 700000 > c/$a/f && "
                   "printf tail >> c/$a/f; done && sync && btrfs subvolume snapshot -r c c1 >/dev/null && "
                   "mkdir passed decompressed",
                   m.native()));
    const fs::path s = scratch_dir() / "codecs.stream";
    SendOptions o;
    o.compressed = true;
    our_send(m / "c1", s, o);
    std::string dump = sh(fmt::format("btrfs receive --dump < '{}'", s.native()));
    CHECK_THAT(dump, Catch::Contains("compression=1,")); // zlib
    CHECK_THAT(dump, Catch::Contains("compression=2,")); // zstd
    CHECK_THAT(dump, Catch::Contains("compression=3,")); // lzo, 4 KiB sectors
    ReceiveOptions dec;
    dec.decompress = true;
    our_receive(m / "decompressed", s, dec);
    our_receive(m / "passed", s);
    CHECK(tree_digest(m / "decompressed/c1") == tree_digest(m / "c1"));
    CHECK(tree_digest(m / "passed/c1") == tree_digest(m / "c1"));
}

TEST_CASE("receive: several streams back to back are received in turn", "[receive]")
{
    Trees t;
    const fs::path s = scratch_dir() / "two.stream";
    sh(fmt::format("cd '{}' && (btrfs send -q t1 && btrfs send -q --proto 2 -p t1 t2) > '{}'", t.mnt.native(), s.native()));
    auto r = our_receive(t.mnt / "ours", s);
    REQUIRE(r.size() == 2);
    CHECK(r[0].name == "t1");
    CHECK(r[1].name == "t2");
    CHECK(r[1].parent == "t1"); // the first one, just received, serves as the parent
    CHECK(tree_digest(t.mnt / "ours/t2") == tree_digest(t.mnt / "t2"));
}

TEST_CASE("receive: a snapshot imported into a pool is counted in its volume's snapshot count", "[receive]")
{
    BtrfsFixture fx;
    const fs::path a = fx.mnt() / "a", b = fx.mnt() / "b";
    fs::create_directories(a);
    fs::create_directories(b);
    Pool source(a);
    source.create_volume("db");
    Snapshot snap = source.snapshot("db");
    Pool target(b);
    target.create_volume("db");
    CHECK(target.snapshots("db").empty());
    CHECK(target.snapshot_count("db") == 0);
    const fs::path stream = scratch_dir() / "counted.stream";
    REQUIRE(run({buttervolume_bin(), "--root", a.native(), "export", snap.name, "-o", stream.native()}).status == 0);
    auto r = run({buttervolume_bin(), "--root", b.native(), "import", "-i", stream.native()});
    REQUIRE(r.status == 0);
    CHECK(r.out == snap.name + "\n");
    CHECK(target.snapshot_count("db") == 1);
}
