// SPDX-License-Identifier: Apache-2.0
// Plugin API benchmark: latency per endpoint at 100, 1,000 and 10,000 volumes, List time,
// daemon memory and start-up time, measured through the real daemon's unix socket with a
// keep-alive client (as Docker's is). Needs root: it makes its own loop-mounted btrfs. Each
// batch of requests starts isolated (sync and a pause), so none pays for the writeback of the
// one before (10,000 Creates leave a lot of it).
//
//   build/bench/plugin-api-bench [--bin PATH] [--counts 100,1000,10000] [--samples 2000]
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <httplib.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#ifndef BUTTERVOLUME_BIN
#define BUTTERVOLUME_BIN "buttervolume"
#endif

double ms_since(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// sync(2) writes back what the previous batch left dirty and commits btrfs' transaction; the
// pause lets the disk go idle.
void settle()
{
    ::sync();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

// The load average over 1, 5 and 15 minutes, as /proc/loadavg has it.
std::string load_average()
{
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return fmt::format("{} {} {}", one, five, fifteen);
}

void sh(const std::string& cmd)
{
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("failed: " + cmd);
}

struct Stats {
    double p50 = 0, p99 = 0, max = 0;
    std::size_t n = 0;
};

Stats stats(std::vector<double> v)
{
    Stats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
    s.p50 = at(0.50);
    s.p99 = at(0.99);
    s.max = v.back();
    s.n = v.size();
    return s;
}

std::string rss_kib(pid_t pid, const char* field)
{
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(field)) {
            auto digits = line.find_first_of("0123456789");
            return line.substr(digits, line.find(' ', digits) - digits);
        }
    return "?";
}

std::string mib(const std::string& kib);

// "8.3 MiB (anonymous 0.9 MiB, shared libraries and files 7.4 MiB)"
std::string rss_line(pid_t pid)
{
    return fmt::format("{} (anonymous {}, file-backed {})", mib(rss_kib(pid, "VmRSS:")), mib(rss_kib(pid, "RssAnon:")),
                       mib(rss_kib(pid, "RssFile:")));
}

std::string mib(const std::string& kib)
{
    return kib == "?" ? kib : fmt::format("{:.1f} MiB", std::stod(kib) / 1024.0);
}

// User + system CPU time of pid, in ms (clock-tick resolution).
double cpu_ms(pid_t pid)
{
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string all((std::istreambuf_iterator<char>(in)), {});
    auto rest = all.substr(all.rfind(')') + 2);
    std::istringstream fields(rest);
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14)
            utime = std::stoull(f);
        if (i == 15)
            stime = std::stoull(f);
    }
    return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The handler times the daemon logged for endpoint since byte offset `from` of its log.
std::vector<double> logged_ms(const fs::path& log, std::size_t from, const std::string& endpoint)
{
    std::ifstream in(log);
    in.seekg(static_cast<std::streamoff>(from));
    std::vector<double> out;
    std::string needle = " info " + endpoint + " ";
    for (std::string line; std::getline(in, line);) {
        if (line.find(needle) == std::string::npos || !line.ends_with("ms"))
            continue;
        auto sp = line.rfind(' ');
        out.push_back(std::stod(line.substr(sp + 1, line.size() - sp - 3)));
    }
    return out;
}

std::size_t log_size(const fs::path& p)
{
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    return ec ? 0 : static_cast<std::size_t>(n);
}

bool activate_once(const fs::path& sock)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool answered = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const char req[] = "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (::write(fd, req, sizeof req - 1) == static_cast<ssize_t>(sizeof req - 1)) {
            char buf[512];
            ssize_t n = ::read(fd, buf, sizeof buf);
            answered = n > 12 && std::string_view(buf, 12) == "HTTP/1.1 200";
        }
    }
    ::close(fd);
    return answered;
}

class Daemon {
public:
    Daemon(const std::string& bin, const fs::path& root, const fs::path& sock, const fs::path& log)
    {
        std::vector<std::string> argv{bin, "--root", root.native(), "run", "--socket", sock.native(), "--log-level", "info"};
        std::vector<char*> cargv;
        for (auto& a : argv)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        auto start = Clock::now();
        if (::posix_spawn(&pid_, bin.c_str(), &fa, nullptr, cargv.data(), environ) != 0)
            throw std::runtime_error("cannot start " + bin);
        posix_spawn_file_actions_destroy(&fa);
        while (!activate_once(sock)) {
            if (ms_since(start) > 10000)
                throw std::runtime_error("the daemon did not answer within 10 s");
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        ready_ms_ = ms_since(start);
    }
    ~Daemon()
    {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }
    double ready_ms() const { return ready_ms_; }

private:
    pid_t pid_ = -1;
    double ready_ms_ = 0;
};

struct Client {
    httplib::Client http;
    explicit Client(const fs::path& sock) : http(sock.native())
    {
        http.set_address_family(AF_UNIX);
        http.set_keep_alive(true);
        http.set_read_timeout(120, 0);
    }
    // Returns the latency in ms; throws when the answer is not 200.
    double post(const std::string& endpoint, const std::string& body)
    {
        auto start = Clock::now();
        auto res = http.Post(endpoint, body, "application/json");
        double ms = ms_since(start);
        if (!res || res->status != 200)
            throw std::runtime_error(fmt::format("{} {} -> {} {}", endpoint, body, res ? res->status : 0,
                                                 res ? res->body : httplib::to_string(res.error())));
        return ms;
    }
};

std::string name_of(std::size_t i)
{
    return fmt::format("vol{:05}", i);
}

std::string named(std::size_t i)
{
    return fmt::format(R"({{"Name":"{}"}})", name_of(i));
}

std::vector<std::size_t> parse_counts(const std::string& s)
{
    std::vector<std::size_t> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto comma = s.find(',', pos);
        out.push_back(std::stoul(s.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? s.size() : comma + 1;
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    std::string bin = BUTTERVOLUME_BIN;
    std::vector<std::size_t> counts{100, 1000, 10000};
    std::size_t samples = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--bin")
            bin = argv[i + 1];
        else if (a == "--counts")
            counts = parse_counts(argv[i + 1]);
        else if (a == "--samples")
            samples = std::stoul(argv[i + 1]);
        else {
            fmt::print(stderr, "usage: {} [--bin PATH] [--counts 100,1000,10000] [--samples N]\n", argv[0]);
            return 2;
        }
    }
    if (::geteuid() != 0) {
        fmt::print(stderr, "plugin-api-bench needs root (it loop-mounts a btrfs image)\n");
        return 77;
    }
    std::string command = fmt::format("{} --bin {} --counts {} --samples {}", argv[0], bin, fmt::join(counts, ","), samples);
    std::string load_start = load_average();
    fs::path dir = fs::temp_directory_path() / fmt::format("bv-bench.{}", ::getpid());
    fs::path mnt = dir / "mnt", root = mnt / "pool", sock = dir / "btrfs.sock", log = dir / "daemon.log";
    fs::create_directories(mnt);
    sh(fmt::format("truncate -s 8G '{0}/img' && mkfs.btrfs -q '{0}/img' >/dev/null && mount -o loop '{0}/img' '{1}'",
                   dir.native(), mnt.native()));
    fs::create_directories(root);
    int status = 0;
    try {
        std::mt19937 rng(42);
        std::string out;
        // Start-up on an empty pool, a few times (the first one also lays the pool out).
        std::vector<double> starts;
        std::string rss_idle, rss_top;
        settle();
        for (int i = 0; i < 5; ++i) {
            Daemon d(bin, root, sock, log);
            starts.push_back(d.ready_ms());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            rss_idle = rss_line(d.pid());
        }
        Daemon d(bin, root, sock, log);
        Client c(sock);
        out += "| volumes | endpoint | requests | p50 ms | p99 ms | max ms | in daemon p50 ms | in daemon p99 ms | daemon CPU ms/request |\n"
               "|---:|---|---:|---:|---:|---:|---:|---:|---:|\n";
        std::size_t have = 0;
        // Runs body `n` times for endpoint, timed at the client, in the daemon (its log) and in CPU.
        auto measure = [&](std::size_t level, const std::string& endpoint, const std::string& label, std::size_t n,
                           const std::function<double(std::size_t)>& body) {
            settle();
            // The daemon drops a connection idle for 2 s, which a settle can outlast: the first
            // timed request must not be the one that connects again.
            c.post("/Plugin.Activate", "");
            std::size_t log_from = log_size(log);
            double cpu0 = cpu_ms(d.pid());
            std::vector<double> client;
            for (std::size_t i = 0; i < n; ++i)
                client.push_back(body(i));
            double cpu = (cpu_ms(d.pid()) - cpu0) / static_cast<double>(std::max<std::size_t>(n, 1));
            auto cs = stats(client), ds = stats(logged_ms(log, log_from, endpoint));
            out += fmt::format("| {} | {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", level, label,
                               cs.n, cs.p50, cs.p99, cs.max, ds.p50, ds.p99, cpu);
        };
        for (std::size_t n : counts) {
            std::size_t from = have;
            measure(n, "/VolumeDriver.Create", "Create (the volumes added to reach this count)", n - from, [&](std::size_t i) {
                ++have;
                return c.post("/VolumeDriver.Create", fmt::format(R"({{"Name":"{}","Opts":null}})", name_of(from + i)));
            });
            std::uniform_int_distribution<std::size_t> pick(0, n - 1);
            std::vector<std::size_t> picks(samples);
            for (auto& p : picks)
                p = pick(rng);
            measure(n, "/VolumeDriver.Get", "Get", samples, [&](std::size_t i) { return c.post("/VolumeDriver.Get", named(picks[i])); });
            measure(n, "/VolumeDriver.Path", "Path", samples, [&](std::size_t i) { return c.post("/VolumeDriver.Path", named(picks[i])); });
            auto mount_body = [&](std::size_t i) {
                return fmt::format(R"({{"Name":"{}","ID":"{:064x}"}})", name_of(picks[i]), i);
            };
            measure(n, "/VolumeDriver.Mount", "Mount", samples, [&](std::size_t i) { return c.post("/VolumeDriver.Mount", mount_body(i)); });
            measure(n, "/VolumeDriver.Unmount", "Unmount", samples, [&](std::size_t i) { return c.post("/VolumeDriver.Unmount", mount_body(i)); });
            measure(n, "/VolumeDriver.Capabilities", "Capabilities", samples, [&](std::size_t) { return c.post("/VolumeDriver.Capabilities", ""); });
            measure(n, "/VolumeDriver.List", "List", 50, [&](std::size_t) { return c.post("/VolumeDriver.List", "{}"); });
        }
        rss_top = rss_line(d.pid());
        std::string hwm = rss_kib(d.pid(), "VmHWM:");
        std::size_t top = counts.empty() ? 0 : counts.back();
        // Start-up with the pool full: opening it scans volumes/ once for leftovers.
        std::vector<double> full_starts;
        fs::path sock2 = dir / "btrfs2.sock";
        settle();
        for (int i = 0; i < 5; ++i) {
            Daemon d2(bin, root, sock2, log);
            full_starts.push_back(d2.ready_ms());
        }
        auto st = stats(starts), fst = stats(full_starts);
        fmt::print("command: {}\ndate: {:%Y-%m-%d %H:%M} UTC; load average (1, 5, 15 min) at start {}, at end {}\n"
                   "each batch isolated (sync, 0.3 s pause)\n\n",
                   command, fmt::gmtime(std::time(nullptr)), load_start, load_average());
        out += fmt::format("\n| measure | value |\n|---|---|\n");
        out += fmt::format("| start to first answer (empty pool, 5 starts) | median {:.1f} ms, max {:.1f} ms |\n", st.p50, st.max);
        out += fmt::format("| start to first answer ({} volumes, 5 starts) | median {:.1f} ms, max {:.1f} ms |\n", top,
                           fst.p50, fst.max);
        out += fmt::format("| daemon RSS idle (empty pool) | {} |\n", rss_idle);
        out += fmt::format("| daemon RSS at {} volumes, after the runs above | {}; peak VmHWM {} |\n", top, rss_top, mib(hwm));
        fmt::print("{}", out);
    } catch (const std::exception& e) {
        fmt::print(stderr, "plugin-api-bench: {}\n", e.what());
        status = 1;
    }
    std::system(fmt::format("umount -l '{}'", mnt.native()).c_str());
    std::error_code ec;
    fs::remove_all(dir, ec);
    return status;
}
