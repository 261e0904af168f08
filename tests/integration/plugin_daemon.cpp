// SPDX-License-Identifier: Apache-2.0
// The plugin daemon under test as a child process, and a raw HTTP/1.1 client on its socket.
#include "plugin_daemon.hpp"

#include "fixture.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace buttervolume::test {

namespace fs = std::filesystem;

int connect_unix(const fs::path& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

HttpReply http_exchange(const fs::path& socket, const std::string& request)
{
    HttpReply reply;
    int fd = connect_unix(socket);
    if (fd < 0)
        return reply;
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string_view rest = request;
    while (!rest.empty()) {
        ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0)
            break;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string raw;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        raw.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos || !raw.starts_with("HTTP/1.1 "))
        return reply;
    reply.headers = raw.substr(0, end);
    reply.body = raw.substr(end + 4);
    reply.status = std::atoi(raw.c_str() + 9);
    return reply;
}

std::string docker_request(const std::string& endpoint, const std::string& json_body, const std::string& host)
{
    std::string body = json_body.empty() ? "" : json_body + "\n";
    return fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: {}\r\n"
                       "Accept: application/vnd.docker.plugins.v1.2+json\r\nAccept-Encoding: gzip\r\n"
                       "Connection: close\r\n\r\n{}",
                       endpoint, host, body.size(), body);
}

HttpReply docker_post(const fs::path& socket, const std::string& endpoint, const std::string& json_body)
{
    return http_exchange(socket, docker_request(endpoint, json_body));
}

PluginDaemon::PluginDaemon(const fs::path& root, const fs::path& socket) : PluginDaemon(root, socket, Options{}) {}

PluginDaemon::PluginDaemon(const fs::path& root, const fs::path& socket, Options options) : socket_(socket)
{
    static std::atomic<int> counter{0};
    log_ = scratch_dir() / fmt::format("daemon{}.log", counter++);
    std::vector<std::string> argv{buttervolume_bin(), "--root", root.native(), "run", "--socket", socket.native()};
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    if (!options.shell_prefix.empty())
        argv.insert(argv.begin(), {"sh", "-c", options.shell_prefix + " exec \"$0\" \"$@\""});

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int high = -1;
    if (options.pass_fd >= 0) {
        // Never dup2 an fd onto itself: that would keep its close-on-exec flag.
        high = ::fcntl(options.pass_fd, F_DUPFD_CLOEXEC, 100);
        posix_spawn_file_actions_adddup2(&actions, high, 3);
    }
    std::vector<char*> cargv;
    for (auto& a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int rc = ::posix_spawnp(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (high >= 0)
        ::close(high);
    if (rc != 0)
        throw std::runtime_error(fmt::format("spawn {}: {}", argv[0], std::strerror(rc)));
    if (!options.wait_ready)
        return;
    for (int i = 0; i < 500; ++i) {
        int fd = connect_unix(socket_);
        if (fd >= 0) {
            ::close(fd);
            return;
        }
        if (wait_exit(std::chrono::milliseconds(10)) >= 0)
            throw std::runtime_error(fmt::format("the daemon exited at start: {}", log()));
    }
    throw std::runtime_error(fmt::format("the daemon did not listen on {} within 5 s: {}", socket_.native(), log()));
}

PluginDaemon::~PluginDaemon()
{
    if (pid_ > 0 && stop(SIGTERM) < 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

int PluginDaemon::wait_exit(std::chrono::milliseconds timeout)
{
    if (pid_ <= 0)
        return -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

int PluginDaemon::stop(int sig, std::chrono::milliseconds timeout)
{
    if (pid_ <= 0)
        return -1;
    ::kill(pid_, sig);
    return wait_exit(timeout);
}

std::string PluginDaemon::log() const
{
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace buttervolume::test
