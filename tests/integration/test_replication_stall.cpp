// SPDX-License-Identifier: Apache-2.0
// Replication against a stalled remote (issue 29 item 9): its serve-ssh (or rsync) SIGSTOPped
// mid-stream while its sshd goes on answering keep-alives. send, receive and sync must fail
// within the stall bound, stop ssh, free the volume, and leave nothing half-made on either side.
#include "../catch.hpp"
#include "replication_helpers.hpp"
#include "stalled_remote.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

extern char** environ;

using namespace buttervolume::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int stall_seconds = 3;

void random_file(const fs::path& p, int mib)
{
    sh(fmt::format("head -c {}M /dev/urandom > '{}' && sync", mib, p.native()));
}

// `buttervolume --root root args...` in the background, stderr (and stdout, with_stdout) into
// err_path, the stall bound at stall_seconds (unless stall_env is false: none in the environment).
pid_t spawn_bv(const fs::path& root, const std::vector<std::string>& args, const std::string& err_path,
               bool with_stdout = false, bool stall_env = true)
{
    std::vector<std::string> argv{buttervolume_bin(), "--root", root.native()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& s : argv)
        cargv.push_back(s.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
        if (!std::string_view(*e).starts_with("BUTTERVOLUME_STALL_TIMEOUT="))
            env.emplace_back(*e);
    if (stall_env)
        env.push_back(fmt::format("BUTTERVOLUME_STALL_TIMEOUT={}", stall_seconds));
    std::vector<char*> cenv;
    for (auto& s : env)
        cenv.push_back(s.data());
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (with_stdout)
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        throw std::runtime_error("spawn buttervolume failed");
    return pid;
}

// Its exit status, or nullopt (and killed, with its children) when it runs past limit.
std::optional<int> wait_exit(pid_t pid, std::chrono::seconds limit)
{
    auto end = Clock::now() + limit;
    int st = 0;
    while (Clock::now() < end) {
        if (::waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const auto& t : fs::directory_iterator(fmt::format("/proc/{}/task", pid))) {
        std::ifstream in(t.path() / "children");
        pid_t c;
        while (in >> c)
            ::kill(c, SIGKILL);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    return std::nullopt;
}

// Polls until done() (every 2 ms) or limit; returns done().
template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit)
{
    auto end = Clock::now() + limit;
    while (!done() && Clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return done();
}

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

} // namespace

TEST_CASE("replication: a send to a remote that stops reading fails within the stall bound and frees the volume",
          "[replication-failure]")
{
    LocalPool a(1ULL << 30);
    SshHost b("node-b20", KeyMode::ServeSsh, 1ULL << 30);
    bv(a.root(), {"create", "big"});
    random_file(volume_dir(a.root(), "big") / "blob", 256);
    const std::string s1 = take_snapshot(a.root(), "big");
    const std::string before = snapshot_entries(b.root());
    const std::string err_path = (a.root() / "send.err").native();

    pid_t send = spawn_bv(a.root(), {"send", "--ssh-config", ssh_client().config().native(), b.alias(), s1},
                          err_path);
    StoppedRemote remote;
    // Once the remote is receiving, its serve-ssh stops reading; its sshd still answers.
    bool receiving = wait_for([&] { return has_receive_leftover(b.root()); }, std::chrono::seconds(20));
    INFO(read_file(err_path));
    REQUIRE(receiving);
    remote.stop(b.root());
    REQUIRE(!remote.pids.empty());
    auto t0 = Clock::now();
    std::optional<int> status = wait_exit(send, std::chrono::seconds(20));
    double took = seconds_since(t0);
    INFO(read_file(err_path));
    REQUIRE(status); // else: still hung 20 s after the remote stopped
    CHECK(*status == 1);
    CHECK(took < stall_seconds + 6);
    const std::string err = read_file(err_path);
    CHECK(err.find(fmt::format("no progress for {} s", stall_seconds)) != std::string::npos);
    CHECK(err.find(s1) != std::string::npos);
    CHECK(err.find(b.alias()) != std::string::npos);
    CHECK(ssh_clients_to(b.alias()) == 0);

    // The volume's lock is free: a snapshot goes through at once.
    RunResult snap = bv(a.root(), {"snapshot", "big"});
    INFO(snap.err);
    CHECK(snap.status == 0);
    CHECK(!has_receive_leftover(a.root()));

    // Continued, the remote finds its session gone and removes the unfinished subvolume.
    remote.resume();
    CHECK(wait_for([&] { return serve_ssh_of(b.root()).empty(); }, std::chrono::seconds(10)));
    CHECK(wait_for([&] { return snapshot_entries(b.root()) == before; }, std::chrono::seconds(10)));
    CHECK(snapshot_entries(b.root()) == before);
}

TEST_CASE("replication: a pull from a remote that stops writing fails within the stall bound, leaving nothing",
          "[replication-failure]")
{
    SshHost b("node-b21", KeyMode::ServeSsh, 1ULL << 30);
    LocalPool a(1ULL << 30);
    bv(b.root(), {"create", "big"});
    random_file(volume_dir(b.root(), "big") / "blob", 256);
    take_snapshot(b.root(), "big");
    bv(a.root(), {"create", "big"});
    const std::string remote_before = snapshot_entries(b.root());
    const std::string local_before = snapshot_entries(a.root());
    const std::string err_path = (a.root() / "receive.err").native();

    // The bound from config.ini this time, as the daemon's other settings.
    fs::create_directories(a.root() / "config");
    std::ofstream(a.root() / "config" / "config.ini") << fmt::format("[DEFAULT]\nstall_timeout = {}\n", stall_seconds);
    pid_t pull = spawn_bv(a.root(), {"receive", "--ssh-config", ssh_client().config().native(), b.alias(), "big"},
                          err_path, false, false);
    StoppedRemote remote;
    // Once we are receiving, the remote's serve-ssh stops writing; its sshd still answers.
    bool receiving = wait_for([&] { return has_receive_leftover(a.root()); }, std::chrono::seconds(20));
    INFO(read_file(err_path));
    REQUIRE(receiving);
    remote.stop(b.root());
    REQUIRE(!remote.pids.empty());
    auto t0 = Clock::now();
    std::optional<int> status = wait_exit(pull, std::chrono::seconds(20));
    double took = seconds_since(t0);
    INFO(read_file(err_path));
    REQUIRE(status); // else: still hung 20 s after the remote stopped
    CHECK(*status == 1);
    CHECK(took < stall_seconds + 6);
    const std::string err = read_file(err_path);
    CHECK(err.find(fmt::format("no progress for {} s", stall_seconds)) != std::string::npos);
    CHECK(err.find("'big@") != std::string::npos);
    CHECK(err.find(b.alias()) != std::string::npos);
    CHECK(ssh_clients_to(b.alias()) == 0);

    // Nothing half-received here, and the volume is free.
    CHECK(snapshot_entries(a.root()) == local_before);
    RunResult snap = bv(a.root(), {"snapshot", "big"});
    INFO(snap.err);
    CHECK(snap.status == 0);

    // Continued, the remote's sender finds its session gone and ends, having made nothing.
    remote.resume();
    CHECK(wait_for([&] { return serve_ssh_of(b.root()).empty(); }, std::chrono::seconds(10)));
    CHECK(snapshot_entries(b.root()) == remote_before);
}

TEST_CASE("replication: a sync from a remote that stops sending fails within the stall bound, leaving no "
          "partial file",
          "[replication-failure]")
{
    SshHost b("node-b22", KeyMode::ServeSsh, 1ULL << 30);
    LocalPool a(1ULL << 30);
    bv(b.root(), {"create", "big"});
    random_file(volume_dir(b.root(), "big") / "blob", 256);
    bv(a.root(), {"create", "big"});
    const std::string out_path = (a.root() / "sync.out").native();

    pid_t sync = spawn_bv(a.root(), {"sync", "--ssh-config", ssh_client().config().native(), "big", b.alias()},
                          out_path, true);
    StoppedRemote remote;
    // Once rsync writes the file here, the remote's rsync stops sending; its sshd still answers.
    bool receiving = wait_for([&] { return has_rsync_temp(volume_dir(a.root(), "big")); }, std::chrono::seconds(20));
    INFO(read_file(out_path));
    REQUIRE(receiving);
    remote.stop(b.root());
    REQUIRE(!rsync_servers_of(b.root()).empty());
    auto t0 = Clock::now();
    std::optional<int> status = wait_exit(sync, std::chrono::seconds(20));
    double took = seconds_since(t0);
    INFO(read_file(out_path));
    REQUIRE(status); // else: still hung 20 s after the remote stopped
    CHECK(*status == 1);
    CHECK(took < stall_seconds + 6);
    const std::string out = read_file(out_path);
    CHECK(out.find(fmt::format("no progress for {} s", stall_seconds)) != std::string::npos);
    CHECK(out.find(b.alias()) != std::string::npos);
    CHECK(ssh_clients_to(b.alias()) == 0);
    // rsync removed the file it had not finished.
    CHECK(!has_rsync_temp(volume_dir(a.root(), "big")));
    CHECK(!fs::exists(volume_dir(a.root(), "big") / "blob"));

    remote.resume();
    CHECK(wait_for([&] { return rsync_servers_of(b.root()).empty(); }, std::chrono::seconds(10)));
}

TEST_CASE("replication: a stall timeout that is no number of seconds is refused, naming where it came from",
          "[replication-failure]")
{
    LocalPool a;
    put_file(a.root(), "v", "f", "x");
    const std::string snap = take_snapshot(a.root(), "v");
    RunResult env = bv(a.root(), {"send", "--ssh-config", ssh_client().config().native(), "nowhere", snap},
                       {"BUTTERVOLUME_STALL_TIMEOUT=2m"});
    CHECK(env.status != 0);
    CHECK(env.err.find("invalid BUTTERVOLUME_STALL_TIMEOUT '2m'") != std::string::npos);

    fs::create_directories(a.root() / "config");
    std::ofstream(a.root() / "config" / "config.ini") << "[DEFAULT]\nSTALL_TIMEOUT = -1\n";
    RunResult ini = bv(a.root(), {"receive", "--ssh-config", ssh_client().config().native(), "nowhere", "v"},
                       {"BUTTERVOLUME_STALL_TIMEOUT="});
    CHECK(ini.status != 0);
    CHECK(ini.err.find("config.ini [DEFAULT] STALL_TIMEOUT '-1'") != std::string::npos);
}
