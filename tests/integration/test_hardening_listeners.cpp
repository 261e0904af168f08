// SPDX-License-Identifier: Apache-2.0
// Issue 29 items 6-8 through the real daemon: slow, idle and huge-header clients on the TCP
// metrics port (and huge headers on the plugin socket) leave scrapes and the plugin answering.
#include "../catch.hpp"
#include "fixture.hpp"
#include "plugin_daemon.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// A connection to 127.0.0.1:port; -1 when refused. Non-blocking ones return at once (the
// handshake completes in the kernel, or waits in its backlog).
int connect_tcp(std::uint16_t port, bool nonblocking = false)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends request on fd, then reads the reply until the server closes or timeout passes; the
// status is 0 when no whole status line came in time. A server that stops reading and closes
// (a refusal) ends the sending early: what it answered is still read.
HttpReply exchange_on(int fd, std::string_view request, std::chrono::milliseconds timeout)
{
    HttpReply reply;
    auto end = Clock::now() + timeout;
    auto left = [&] {
        return int(
            std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count()));
    };
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    std::string raw;
    char buf[65536];
    bool sending = true;
    while (left() > 0) {
        pollfd p{fd, short(POLLIN | (sending && !request.empty() ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, left()) <= 0)
            break;
        if (p.revents & POLLIN) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            raw.append(buf, std::size_t(n));
            sending = false; // the server answered: the rest of the request is not wanted
            continue;
        }
        if (p.revents & (POLLERR | POLLHUP))
            break;
        ssize_t n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN)
            sending = false;
        if (n > 0)
            request.remove_prefix(std::size_t(n));
    }
    auto head = raw.find("\r\n\r\n");
    if (head != std::string::npos && raw.starts_with("HTTP/1.1 ")) {
        reply.headers = raw.substr(0, head);
        reply.body = raw.substr(head + 4);
        reply.status = std::atoi(raw.c_str() + 9);
    }
    return reply;
}

HttpReply scrape(std::uint16_t port, std::chrono::milliseconds timeout = 5s)
{
    int fd = connect_tcp(port);
    if (fd < 0)
        return {};
    auto r = exchange_on(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout);
    ::close(fd);
    return r;
}

HttpReply unix_exchange(const fs::path& sock, std::string_view request, std::chrono::milliseconds timeout = 5s)
{
    int fd = connect_unix(sock);
    if (fd < 0)
        return {};
    auto r = exchange_on(fd, request, timeout);
    ::close(fd);
    return r;
}

double seconds_since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
long status_kib(pid_t pid, const std::string& field)
{
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(field + ":"))
            return std::stol(line.substr(field.size() + 1));
    return -1;
}

// The pool on its own btrfs and the daemon on it, with metrics on a loopback port.
struct ListenerDaemon {
    BtrfsFixture fsx;
    fs::path sock = fsx.mnt() / "plugin.sock";
    std::uint16_t port = free_port();
    bool made = fs::create_directories(fsx.root());
    PluginDaemon daemon;
    explicit ListenerDaemon(std::string shell_prefix = "")
        : daemon(fsx.root(), sock,
                 {.extra_args = {"--metrics", fmt::format("127.0.0.1:{}", port)}, .shell_prefix = shell_prefix})
    {
        // The plugin socket is up; the metrics listener starts right after it.
        auto start = Clock::now();
        while (scrape(port, 2s).status != 200 && seconds_since(start) < 10)
            std::this_thread::sleep_for(20ms);
        REQUIRE(scrape(port, 2s).status == 200);
    }
};

// Connections to the metrics port that send a scrape's first line a byte every 200 ms, each byte
// in time for a per-read timeout, until destroyed or the time limit.
class TcpTricklers {
public:
    TcpTricklers(std::uint16_t port, int n, std::chrono::seconds limit)
    {
        for (int i = 0; i < n; ++i) {
            int fd = connect_tcp(port);
            REQUIRE(fd >= 0);
            fds_.push_back(fd);
        }
        thread_ = std::thread([this, limit] {
            const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            auto end = Clock::now() + limit;
            for (std::size_t i = 0; !stop_ && Clock::now() < end; ++i) {
                for (int fd : fds_)
                    ::send(fd, i < head.size() ? &head[i] : "a", 1, MSG_NOSIGNAL);
                std::this_thread::sleep_for(200ms);
            }
        });
    }
    ~TcpTricklers()
    {
        stop_ = true;
        thread_.join();
        for (int fd : fds_)
            ::close(fd);
    }
    int closed_by_server() const
    {
        int n = 0;
        for (int fd : fds_) {
            char c;
            // End-of-file, a reset, or a refusal: anything but "nothing yet".
            ssize_t r = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
            n += r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        }
        return n;
    }

private:
    std::vector<int> fds_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A request whose headers are `lines` lines of `line_bytes` bytes each.
std::string huge_headers(const std::string& request_line, std::size_t lines, std::size_t line_bytes)
{
    std::string r = request_line + "\r\nHost: x\r\n";
    r.reserve(r.size() + lines * (line_bytes + 2) + 64);
    for (std::size_t i = 0; i < lines; ++i) {
        std::string name = fmt::format("X-H{}: ", i);
        r += name;
        r.append(line_bytes > name.size() ? line_bytes - name.size() : 1, 'a');
        r += "\r\n";
    }
    return r + "Content-Length: 0\r\n\r\n";
}

} // namespace

TEST_CASE("hardening: slow clients on the metrics port do not block a scrape (issue 29 item 6)", "[hardening]")
{
    ListenerDaemon m;
    TcpTricklers slow(m.port, 8, 12s);
    std::this_thread::sleep_for(500ms);
    for (int i = 0; i < 3; ++i) {
        auto start = Clock::now();
        auto r = scrape(m.port);
        double took = seconds_since(start);
        INFO("scrape " << i << " took " << took << " s");
        CHECK(r.status == 200);
        CHECK_THAT(r.body, Catch::Contains("buttervolume_volumes"));
        // Before the fix two of them took both of httplib's threads: every scrape waited forever.
        CHECK(took < 2.0);
        if (r.status != 200)
            break;
    }
    // A byte every 200 ms restarted httplib's read timeout forever: the request deadline is 5 s
    // from its first byte.
    auto start = Clock::now();
    while (slow.closed_by_server() < 8 && seconds_since(start) < 10)
        std::this_thread::sleep_for(100ms);
    CHECK(slow.closed_by_server() == 8);
}

TEST_CASE("hardening: 1100 idle connections on the metrics port leave List and scrapes answering (issue 29 item 7)",
          "[hardening]")
{
    // The daemon gets the 1,024 descriptors of a default RLIMIT_NOFILE (and cannot raise it);
    // the test needs more than 1100 for itself.
    rlimit lim{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &lim) == 0);
    REQUIRE(lim.rlim_max >= 1400);
    rlimit raised{std::max<rlim_t>(lim.rlim_cur, 1400), lim.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &raised) == 0);
    struct Restore {
        rlimit lim;
        ~Restore() { ::setrlimit(RLIMIT_NOFILE, &lim); }
    } restore{lim};

    ListenerDaemon m("ulimit -n 1024;");
    REQUIRE(docker_post(m.sock, "/VolumeDriver.Create", R"({"Name":"v"})").status == 200);
    std::vector<int> idle;
    for (int i = 0; i < 1100; ++i) {
        int fd = connect_tcp(m.port, true);
        REQUIRE(fd >= 0);
        idle.push_back(fd);
    }
    struct Close {
        std::vector<int>& fds;
        ~Close()
        {
            for (int fd : fds)
                ::close(fd);
        }
    } close_idle{idle};
    std::this_thread::sleep_for(1s);

    auto start = Clock::now();
    auto list = unix_exchange(m.sock, docker_request("/VolumeDriver.List", "{}"));
    double took = seconds_since(start);
    INFO("List took " << took << " s: " << list.body);
    CHECK(list.status == 200);
    CHECK_THAT(list.body, Catch::Contains(R"("Name":"v")"));
    CHECK(took < 2.0);

    start = Clock::now();
    auto r = scrape(m.port);
    took = seconds_since(start);
    INFO("scrape took " << took << " s");
    CHECK(r.status == 200);
    CHECK(took < 2.0);
}

TEST_CASE("hardening: requests with huge headers are refused and do not grow the daemon (issue 29 item 8)",
          "[hardening]")
{
    ListenerDaemon m;
    // Every thread a refusal may need exists already, and the daemon's peak is what it is.
    REQUIRE(scrape(m.port).status == 200);
    REQUIRE(docker_post(m.sock, "/Plugin.Activate", "").status == 200);
    const pid_t pid = m.daemon.pid();
    const long hwm_before = status_kib(pid, "VmHWM");
    REQUIRE(hwm_before > 0);

    // One header line of 48 MiB, and 100,000 lines of 300 bytes, to each listener.
    const std::string one_line = huge_headers("GET /metrics HTTP/1.1", 1, 48 << 20);
    const std::string many_lines = huge_headers("GET /metrics HTTP/1.1", 100'000, 300);
    const std::string plugin_one_line = huge_headers("POST /VolumeDriver.List HTTP/1.1", 1, 48 << 20);
    const std::string plugin_many_lines = huge_headers("POST /VolumeDriver.List HTTP/1.1", 100'000, 300);
    for (const std::string* request : {&one_line, &many_lines}) {
        int fd = connect_tcp(m.port);
        REQUIRE(fd >= 0);
        auto r = exchange_on(fd, *request, 10s);
        ::close(fd);
        // The refusal may be lost to the reset that closing an unread request sends.
        CHECK((r.status == 431 || r.status == 0));
        CHECK(r.status != 200);
    }
    for (const std::string* request : {&plugin_one_line, &plugin_many_lines}) {
        auto r = unix_exchange(m.sock, *request, 10s);
        CHECK((r.status == 431 || r.status == 0));
        CHECK(r.status != 200);
    }
    // A few headers over the line limit, small enough to be read whole: the refusal says why.
    auto r = unix_exchange(m.sock, huge_headers("POST /VolumeDriver.List HTTP/1.1", 150, 20));
    CHECK(r.status == 431);
    CHECK_THAT(r.body, Catch::Contains("headers are over"));

    const long hwm_after = status_kib(pid, "VmHWM");
    INFO("VmHWM " << hwm_before << " KiB before, " << hwm_after << " KiB after");
    // Before the fix the daemon kept every byte of them (and more): hundreds of MiB.
    CHECK(hwm_after - hwm_before < 4096);
    CHECK(scrape(m.port).status == 200);
    CHECK(docker_post(m.sock, "/VolumeDriver.List", "{}").status == 200);
}

TEST_CASE("hardening: the daemon raises its soft descriptor limit to the hard one (issue 29 item 7)", "[hardening]")
{
    ListenerDaemon m("ulimit -S -n 1024;");
    std::ifstream in(fmt::format("/proc/{}/limits", m.daemon.pid()));
    std::string soft, hard;
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("Max open files")) {
            std::istringstream words(line.substr(14));
            words >> soft >> hard;
        }
    INFO("Max open files " << soft << " " << hard);
    REQUIRE(!hard.empty());
    CHECK(soft == hard);
}
