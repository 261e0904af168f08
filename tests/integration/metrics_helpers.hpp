// SPDX-License-Identifier: Apache-2.0
// For the metrics tests: a scrape read back by series, a free loopback port, and a real Prometheus.
#pragma once

#include "scheduler_daemon.hpp"

#include <buttervolume/version.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <sstream>

namespace buttervolume::test {

/// A port on 127.0.0.1 nothing listens on now (the kernel's choice for port 0).
inline std::uint16_t free_tcp_port()
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

/// GET /metrics on the plugin socket; the body, or "" when it did not answer 200.
inline std::string scrape_socket(const std::filesystem::path& sock)
{
    HttpReply r = http_exchange(sock, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return r.status == 200 ? r.body : std::string();
}

/// One scrape, read back by series ("name{labels}" exactly as written).
struct Scrape {
    explicit Scrape(std::string t) : text(std::move(t)) {}
    std::string text;

    /// The value of series; NaN when it is not in the scrape.
    double value(const std::string& series) const
    {
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line))
            if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
                return std::stod(line.substr(series.size() + 1));
        return std::nan("");
    }

    /// The buckets of histogram name for endpoint never decrease, end with +Inf, and +Inf is _count.
    bool buckets_cumulative(const std::string& name, const std::string& endpoint) const
    {
        const std::string prefix = fmt::format("{}_bucket{{endpoint=\"{}\",le=\"", name, endpoint);
        std::istringstream in(text);
        std::string line, last_le;
        double last = -1;
        std::size_t n = 0;
        while (std::getline(in, line)) {
            if (line.compare(0, prefix.size(), prefix) != 0)
                continue;
            auto q = line.find('"', prefix.size());
            last_le = line.substr(prefix.size(), q - prefix.size());
            double v = std::stod(line.substr(line.rfind(' ') + 1));
            if (v < last)
                return false;
            last = v;
            ++n;
        }
        return n == 17 && last_le == "+Inf" &&
               last == value(fmt::format("{}_count{{endpoint=\"{}\"}}", name, endpoint));
    }
};

/// Debian's prometheus, scraping 127.0.0.1:target_port every second, its storage in dir; killed
/// (and waited for) when the test ends, passed or not.
class PrometheusServer {
public:
    PrometheusServer(const std::filesystem::path& dir, std::uint16_t target_port) : dir_(dir)
    {
        std::filesystem::create_directories(dir / "data");
        port_ = free_tcp_port();
        std::ofstream(dir / "prometheus.yml") << fmt::format("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                                             "scrape_configs:\n  - job_name: buttervolume\n"
                                                             "    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
                                                             target_port);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            std::string log = (dir / "prometheus.log").native();
            std::freopen(log.c_str(), "w", stderr);
            std::freopen(log.c_str(), "a", stdout);
            std::string config = "--config.file=" + (dir / "prometheus.yml").native();
            std::string storage = "--storage.tsdb.path=" + (dir / "data").native();
            std::string listen = fmt::format("--web.listen-address=127.0.0.1:{}", port_);
            ::execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(), (char*)nullptr);
            ::_exit(127);
        }
        REQUIRE(eventually([&] { return run({"curl", "-sf", url("/-/ready")}).status == 0; }));
    }
    ~PrometheusServer()
    {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    PrometheusServer(const PrometheusServer&) = delete;
    PrometheusServer& operator=(const PrometheusServer&) = delete;

    /// The value of an instant query that returns one series ("" for none or several).
    std::string query(const std::string& promql) const
    {
        RunResult r = run({"curl", "-sf", url("/api/v1/query"), "--data-urlencode", "query=" + promql});
        rapidjson::Document doc;
        doc.Parse(r.out.c_str());
        if (r.status != 0 || !doc.IsObject() || !doc.HasMember("data"))
            return "";
        const auto& result = doc["data"]["result"];
        if (!result.IsArray() || result.Size() != 1)
            return "";
        return result[0]["value"][1].GetString();
    }
    std::string log() const
    {
        std::ifstream in(dir_ / "prometheus.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    std::string url(const std::string& path) const { return fmt::format("http://127.0.0.1:{}{}", port_, path); }
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

} // namespace buttervolume::test
