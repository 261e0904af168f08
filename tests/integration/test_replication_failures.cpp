// SPDX-License-Identifier: Apache-2.0
// Replication failures: ssh killed mid-stream, the remote's disk full mid-stream. Nothing is
// left on the remote, the local side reports the error, and the next send succeeds.
#include "../catch.hpp"
#include "replication_helpers.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>

extern char** environ;

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

bool has_receive_leftover(const fs::path& root)
{
    for (const auto& e : fs::directory_iterator(root / "snapshots"))
        if (e.path().filename().native().starts_with(".recv."))
            return true;
    return false;
}

// The children of pid (Linux keeps them per thread).
std::vector<pid_t> children(pid_t pid)
{
    std::vector<pid_t> out;
    for (const auto& t : fs::directory_iterator(fmt::format("/proc/{}/task", pid))) {
        std::ifstream in(t.path() / "children");
        pid_t c;
        while (in >> c)
            out.push_back(c);
    }
    return out;
}

void random_file(const fs::path& p, int mib)
{
    sh(fmt::format("head -c {}M /dev/urandom > '{}' && sync", mib, p.native()));
}

} // namespace

TEST_CASE("replication: ssh killed mid-stream leaves nothing remote; the next send works", "[replication-failure]")
{
    LocalPool a(1ULL << 30);
    SshHost b("node-b10", KeyMode::ServeSsh, 1ULL << 30);
    bv(a.root(), {"create", "big"});
    random_file(volume_dir(a.root(), "big") / "blob", 300);
    std::string s1 = take_snapshot(a.root(), "big");
    std::string before = snapshot_entries(b.root());

    std::vector<std::string> argv{buttervolume_bin(), "--root", a.root().native(), "send", "--ssh-config",
                                  ssh_client().config().native(), b.alias(), s1};
    std::vector<char*> cargv;
    for (auto& s : argv)
        cargv.push_back(s.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string err_path = (a.root() / "send.err").native();
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    REQUIRE(::posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    // Once the remote has started receiving, kill the local ssh.
    bool killed = false;
    for (int i = 0; i < 4000 && !killed; ++i) {
        if (has_receive_leftover(b.root()))
            for (pid_t c : children(pid))
                killed = ::kill(c, SIGKILL) == 0 || killed;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    REQUIRE(killed);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 1);
    CHECK(read_file(err_path).find("ssh was killed by signal 9") != std::string::npos);
    // The remote notices the closed session and removes the unfinished subvolume.
    for (int i = 0; i < 500 && (has_receive_leftover(b.root()) || snapshot_entries(b.root()) != before); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(snapshot_entries(b.root()) == before);

    RunResult again = send_to(a.root(), b.alias(), s1);
    INFO(again.err);
    CHECK(again.status == 0);
    CHECK(fs::exists(b.snapshots() / s1 / "blob"));
}

TEST_CASE("replication: the remote's disk full mid-stream leaves nothing there; the next send works",
          "[replication-failure]")
{
    LocalPool a(1ULL << 30);
    SshHost c("node-c11", KeyMode::ServeSsh, 256ULL << 20);
    bv(a.root(), {"create", "big"});
    random_file(volume_dir(a.root(), "big") / "blob", 400);
    std::string big = take_snapshot(a.root(), "big");
    std::string before = snapshot_entries(c.root());
    RunResult r = send_to(a.root(), c.alias(), big);
    CHECK(r.status == 1);
    CHECK(r.err.find("No space left on device") != std::string::npos);
    CHECK(snapshot_entries(c.root()) == before);
    CHECK(!has_receive_leftover(c.root()));

    // btrfs frees a deleted subvolume's space in its cleaner thread, after the delete returns.
    sh(fmt::format("btrfs subvolume sync '{}'", c.snapshots().native()));
    put_file(a.root(), "small", "f", "fits");
    std::string small = take_snapshot(a.root(), "small");
    RunResult ok = send_to(a.root(), c.alias(), small);
    INFO(ok.err);
    CHECK(ok.status == 0);
    CHECK(read_file(c.snapshots() / small / "f") == "fits");
}
