// SPDX-License-Identifier: Apache-2.0
// Real sshd instances for the replication tests, started and stopped by the test.
#include "ssh_hosts.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace buttervolume::test {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p)
{
    std::ifstream in(p);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && s.back() == '\n')
        s.pop_back();
    return s;
}

void append_text(const fs::path& p, const std::string& line)
{
    std::ofstream out(p, std::ios::app);
    out << line << "\n";
}

// A port the kernel says is free now; sshd binds it right after (a retry covers the race).
std::uint16_t free_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0)
        throw std::runtime_error("free_port: bind failed");
    ::close(fd);
    return ntohs(a.sin_port);
}

bool accepting(std::uint16_t port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

} // namespace

SshHost::SshHost(std::string alias, KeyMode mode, std::uint64_t fs_size) : alias_(std::move(alias)), fs_(fs_size)
{
    static std::atomic<int> counter{0};
    int n = counter++;
    dir_ = scratch_dir() / fmt::format("sshd{}", n);
    // Catch runs a test case once per section: every run's hosts need aliases of their own.
    alias_ += fmt::format("-{}", n);
    fs::create_directories(dir_);
    fs::create_directories("/run/sshd"); // sshd's privilege separation directory
    sh(fmt::format("ssh-keygen -q -t ed25519 -N '' -f '{}/host_key'", dir_.native()));
    host_key_ = read_text(dir_ / "host_key.pub");
    host_key_ = host_key_.substr(0, host_key_.rfind(' '));
    // The pool exists before the first connection (serve-ssh would make it anyway).
    fs::create_directories(root());
    RunResult init = bv(root(), {"volumes"});
    if (init.status != 0)
        throw std::runtime_error("cannot open pool " + root().native() + ": " + init.err);
    std::string key = ssh_client().public_key();
    if (mode == KeyMode::ServeSsh) {
        RunResult line = bv(root(), {"authorize-key", key, "--install", (dir_ / "authorized_keys").native()});
        if (line.status != 0)
            throw std::runtime_error("authorize-key failed: " + line.err);
    } else {
        append_text(dir_ / "authorized_keys", key);
    }
    for (int attempt = 0; attempt < 5 && sshd_ < 0; ++attempt) {
        port_ = free_port();
        std::ofstream(dir_ / "sshd_config")
            << fmt::format("Port {}\nListenAddress 127.0.0.1\nHostKey {}/host_key\nPidFile none\n"
                           "AuthorizedKeysFile {}/authorized_keys\nPermitRootLogin prohibit-password\n"
                           "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                           "StrictModes no\nPrintMotd no\nLogLevel ERROR\nAcceptEnv none\n",
                           port_, dir_.native(), dir_.native());
        std::string cfg = (dir_ / "sshd_config").native();
        std::string log = (dir_ / "sshd.log").native();
        std::vector<std::string> argv{"/usr/sbin/sshd", "-D", "-e", "-f", cfg, "-E", log};
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        pid_t pid;
        if (::posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, cargv.data(), environ) != 0)
            throw std::runtime_error("cannot start sshd");
        for (int i = 0; i < 200; ++i) {
            if (accepting(port_)) {
                sshd_ = pid;
                break;
            }
            int st;
            if (::waitpid(pid, &st, WNOHANG) == pid)
                break; // the port was taken meanwhile: try another
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (sshd_ < 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
        }
    }
    if (sshd_ < 0)
        throw std::runtime_error("sshd did not start: " + read_text(dir_ / "sshd.log"));
    ssh_client().add(alias_, port_, host_key_);
}

SshHost::~SshHost()
{
    if (sshd_ > 0) {
        ::kill(sshd_, SIGTERM);
        ::waitpid(sshd_, nullptr, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

SshClient::SshClient()
{
    dir_ = scratch_dir() / "ssh-client";
    fs::create_directories(dir_);
    sh(fmt::format("ssh-keygen -q -t ed25519 -N '' -C bv-test -f '{}/id_ed25519'", dir_.native()));
    std::ofstream(config()) << "";
}

SshClient::~SshClient()
{
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

std::string SshClient::public_key() const
{
    return read_text(dir_ / "id_ed25519.pub");
}

void SshClient::add(const std::string& alias, std::uint16_t port, const std::string& key)
{
    append_text(config(), fmt::format("Host {}\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n"
                                      "  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n"
                                      "  LogLevel ERROR\n",
                                      alias, port, identity().native(), (dir_ / ("known_hosts." + alias)).native()));
    // One known_hosts file per alias: two aliases of one address must not vouch for each other.
    append_text(dir_ / ("known_hosts." + alias), fmt::format("[127.0.0.1]:{} {}", port, key));
}

SshClient& ssh_client()
{
    static SshClient client;
    return client;
}

RunResult bv(const fs::path& root, const std::vector<std::string>& args, const std::vector<std::string>& env)
{
    std::vector<std::string> argv{buttervolume_bin(), "--root", root.native()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env);
}

RunResult ssh_to(const SshHost& host, const std::string& command, bool with_command)
{
    std::vector<std::string> argv{"ssh", "-F", ssh_client().config().native(), "-T", "-o", "BatchMode=yes",
                                  host.alias()};
    if (with_command)
        argv.push_back(command);
    return run(argv);
}

std::string subvolume_field(const fs::path& path, const std::string& field)
{
    std::string out = sh(fmt::format("btrfs subvolume show '{}'", path.native()));
    auto pos = out.find("\t" + field + ":");
    if (pos == std::string::npos)
        return {};
    auto start = out.find_first_not_of(" \t", pos + field.size() + 2);
    auto end = out.find('\n', start);
    std::string v = out.substr(start, end - start);
    return v == "-" ? std::string() : v;
}

} // namespace buttervolume::test
