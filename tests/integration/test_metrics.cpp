// SPDX-License-Identifier: Apache-2.0
// Metrics of the real `buttervolume run`: a scrape after real traffic checked by promtool, scraped
// by a real Prometheus, counters and histograms that follow the traffic, job and replication series.
#include "metrics_helpers.hpp"
#include "replication_helpers.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using namespace buttervolume;
using namespace buttervolume::test;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

std::string get_json(const std::string& name)
{
    return fmt::format(R"({{"Name":"{}"}})", name);
}

// n requests of Get for volume, each answered 200.
void gets(const fs::path& sock, const std::string& volume, int n)
{
    for (int i = 0; i < n; ++i)
        REQUIRE(docker_post(sock, "/VolumeDriver.Get", get_json(volume)).status == 200);
}

// A pool on its own btrfs and the daemon on it, serving metrics on a free loopback port too.
struct MetricsDaemon {
    BtrfsFixture fsx;
    fs::path sock = fsx.mnt() / "plugin.sock";
    std::uint16_t port = free_tcp_port();
    bool made = fs::create_directories(fsx.root());
    PluginDaemon daemon{fsx.root(), sock, {.extra_args = {"--metrics", fmt::format("127.0.0.1:{}", port)}}};
};

} // namespace

TEST_CASE("metrics: counters and histograms follow the traffic, errors count as error, promtool accepts the scrape",
          "[metrics]")
{
    MetricsDaemon m;
    const BtrfsFixture& fsx = m.fsx;
    const fs::path& sock = m.sock;
    const std::uint16_t port = m.port;
    PluginDaemon& d = m.daemon;

    REQUIRE(docker_post(sock, "/Plugin.Activate", "").status == 200);
    REQUIRE(docker_post(sock, "/VolumeDriver.Create", get_json("db")).status == 200);
    REQUIRE(docker_post(sock, "/VolumeDriver.Create", R"({"Name":"bad/name"})").status == 500);
    REQUIRE(docker_post(sock, "/VolumeDriver.Create", get_json("web")).status == 200);
    REQUIRE(docker_post(sock, "/VolumeDriver.Mount", R"({"Name":"db","ID":"c0ffee"})").status == 200);
    gets(sock, "db", 3);
    REQUIRE(docker_post(sock, "/VolumeDriver.Get", get_json("ghost")).status == 500);
    REQUIRE(docker_post(sock, "/VolumeDriver.Nope", "{}").status == 404);
    Pool(fsx.root()).snapshot("db");

    Scrape a(scrape_socket(sock));
    INFO(a.text);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="/Plugin.Activate",result="ok"})") == 1);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Create",result="ok"})") == 2);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Create",result="error"})") == 1);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="ok"})") == 3);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="error"})") == 1);
    CHECK(a.value(R"(buttervolume_requests_total{endpoint="other",result="error"})") == 1);
    CHECK(a.value(R"(buttervolume_request_duration_seconds_count{endpoint="/VolumeDriver.Get"})") == 4);
    CHECK(a.value(R"(buttervolume_request_duration_seconds_bucket{endpoint="/VolumeDriver.Get",le="+Inf"})") == 4);
    CHECK(a.value(R"(buttervolume_request_duration_seconds_sum{endpoint="/VolumeDriver.Get"})") > 0);
    CHECK(a.buckets_cumulative("buttervolume_request_duration_seconds", "/VolumeDriver.Get"));
    CHECK(a.value("buttervolume_volumes") == 2);
    CHECK(a.value("buttervolume_mounts") == 1);
    CHECK(a.value("buttervolume_snapshots") == 1);
    CHECK(a.value("buttervolume_pool_size_bytes") > 400e6);
    CHECK(a.value("buttervolume_pool_free_bytes") > 0);
    CHECK(a.value("buttervolume_pool_up") == 1);
    CHECK(a.value("process_resident_memory_bytes") > 1e6);
    CHECK(a.value(fmt::format(R"(buttervolume_build_info{{version="{}"}})", BUTTERVOLUME_VERSION)) == 1);
    const double started = a.value("process_start_time_seconds");
    CHECK(std::abs(started - duration<double>(system_clock::now().time_since_epoch()).count()) < 120);
    // The scrape itself is no plugin request; per-volume series are opt-in.
    CHECK(a.text.find("buttervolume_volume_newest_snapshot_timestamp_seconds{") == std::string::npos);

    // Two more Gets move the Get counter by two and nothing else's.
    gets(sock, "web", 2);
    Scrape b(scrape_socket(sock));
    CHECK(b.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="ok"})") == 5);
    CHECK(b.value(R"(buttervolume_request_duration_seconds_count{endpoint="/VolumeDriver.Get"})") == 6);
    CHECK(b.value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Create",result="ok"})") == 2);

    // The TCP listener serves the same families; promtool accepts what it serves.
    RunResult tcp = run({"curl", "-sSf", fmt::format("http://127.0.0.1:{}/metrics", port)});
    REQUIRE(tcp.status == 0);
    CHECK(Scrape(tcp.out).value(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="ok"})") == 5);
    const fs::path file = fsx.mnt() / "scrape.txt";
    std::ofstream(file) << tcp.out;
    RunResult check = run({"sh", "-c", fmt::format("promtool check metrics < '{}'", file.native())});
    INFO(check.out << check.err);
    CHECK(check.status == 0);
    CHECK(run({"curl", "-sf", fmt::format("http://127.0.0.1:{}/other", port)}).status != 0);
    CHECK(d.stop() == 0);
}

TEST_CASE("metrics: per-volume series with --metrics-per-volume, label values escaped", "[metrics]")
{
    BtrfsFixture fsx;
    fs::create_directories(fsx.root());
    const fs::path sock = fsx.mnt() / "plugin.sock";
    {
        Pool pool(fsx.root());
        pool.create_volume("db", VolumeOptions::parse({{"size", "64M"}}));
        pool.create_volume("plain");
        pool.snapshot("db");
    }
    PluginDaemon d(fsx.root(), sock, {.extra_args = {"--metrics-per-volume"}});
    Scrape a(scrape_socket(sock));
    INFO(a.text);
    const Snapshot snap = Pool(fsx.root()).snapshots("db").back();
    CHECK(a.value(R"(buttervolume_volume_newest_snapshot_timestamp_seconds{volume="db"})") ==
          Approx(duration<double>(snap.time.time_since_epoch()).count()).epsilon(1e-12));
    CHECK(a.value(R"(buttervolume_volume_size_limit_bytes{volume="db"})") == (64 << 20));
    CHECK(a.text.find(R"(buttervolume_volume_used_bytes{volume="db"})") != std::string::npos);
    CHECK(a.text.find(R"({volume="plain"})") == std::string::npos);
    const fs::path file = fsx.mnt() / "scrape.txt";
    std::ofstream(file) << a.text;
    CHECK(run({"sh", "-c", fmt::format("promtool check metrics < '{}'", file.native())}).status == 0);
    CHECK(d.stop() == 0);
}

TEST_CASE("metrics: a real Prometheus scrapes the daemon: up is 1 and the request counter is what the test sent",
          "[metrics]")
{
    MetricsDaemon m;
    const BtrfsFixture& fsx = m.fsx;
    const fs::path& sock = m.sock;
    const std::uint16_t port = m.port;
    PluginDaemon& d = m.daemon;
    REQUIRE(docker_post(sock, "/VolumeDriver.Create", get_json("db")).status == 200);
    const int sent = 7;
    gets(sock, "db", sent);
    REQUIRE(docker_post(sock, "/VolumeDriver.Get", get_json("ghost")).status == 500);

    PrometheusServer prom(fsx.mnt() / "prometheus", port);
    INFO(prom.log());
    CHECK(eventually([&] { return prom.query(R"(up{job="buttervolume"})") == "1"; }));
    CHECK(eventually([&] {
        return prom.query(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="ok"})") ==
               std::to_string(sent);
    }));
    CHECK(prom.query(R"(buttervolume_requests_total{endpoint="/VolumeDriver.Get",result="error"})") == "1");
    CHECK(prom.query("buttervolume_volumes") == "1");
    CHECK(d.stop() == 0);
    // Stopped: Prometheus sees the target down.
    CHECK(eventually([&] { return prom.query(R"(up{job="buttervolume"})") == "0"; }));
}

TEST_CASE("metrics: job runs, failures and last successes from the scheduler; status healthy, then not",
          "[metrics][status][seams]")
{
    SchedulerDaemon p;
    p.create("db");
    p.create("tmp");
    REQUIRE(p.bv({"schedule", "snapshot", "1", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "snapshot", "1", "tmp"}).status == 0);
    // No daemon yet: status says so, with exit status 1.
    RunResult none = p.bv({"status", "--socket", p.sock.native()});
    CHECK(none.status == 1);
    CHECK(none.out.find("NOT RUNNING") != std::string::npos);
    CHECK(none.out.find("no socket there") != std::string::npos);
    {
        // A socket file that nobody listens on (a killed daemon's): said in words.
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, p.sock.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        RunResult refused = p.bv({"status", "--socket", p.sock.native()});
        ::close(fd);
        std::filesystem::remove(p.sock);
        CHECK(refused.status == 1);
        CHECK(refused.out.find("nothing listens on it") != std::string::npos);
    }

    auto d = p.start();
    REQUIRE_LOGGED(*d, p.wait_count("db", 1) && p.wait_count("tmp", 1));
    REQUIRE_LOGGED(*d, eventually([&] {
        return Scrape(scrape_socket(p.sock)).value(R"(buttervolume_job_runs_total{action="snapshot",result="ok"})") == 2;
    }));
    Scrape a(scrape_socket(p.sock));
    INFO(a.text);
    const double now = duration<double>(p.clock.now().time_since_epoch()).count();
    CHECK(a.value(R"(buttervolume_job_last_success_timestamp_seconds{volume="db",action="snapshot"})") == now);
    CHECK(a.value(R"(buttervolume_job_consecutive_failures{volume="db",action="snapshot"})") == 0);
    CHECK(a.value(R"(buttervolume_job_runs_total{action="snapshot",result="failed"})") == 0);

    RunResult healthy = p.bv({"status", "--socket", p.sock.native(), "--json"});
    INFO(healthy.out << healthy.err);
    CHECK(healthy.status == 0);
    rapidjson::Document doc;
    doc.Parse(healthy.out.c_str());
    REQUIRE(doc.IsObject());
    CHECK(doc["Healthy"].GetBool());
    CHECK(doc["Daemon"]["Running"].GetBool());
    CHECK(doc["Daemon"]["Pid"].GetUint64() == std::uint64_t(d->pid()));
    CHECK(std::string(doc["Daemon"]["Version"].GetString()) == BUTTERVOLUME_VERSION);
    CHECK(doc["Volumes"].GetUint64() == 2);
    CHECK(doc["Snapshots"].GetUint64() == 2);
    CHECK(doc["FailingJobs"].Size() == 0);
    RunResult table = p.bv({"status", "--socket", p.sock.native()});
    CHECK(table.status == 0);
    CHECK(table.out.find("healthy") != std::string::npos);

    // The volume disappears behind the scheduler's back: its next run fails.
    Pool(p.root).remove_volume("tmp");
    p.write("db", "x");
    p.clock.advance(minutes(1));
    REQUIRE_LOGGED(*d, eventually([&] {
        return Scrape(scrape_socket(p.sock)).value(R"(buttervolume_job_runs_total{action="snapshot",result="failed"})") == 1;
    }));
    Scrape b(scrape_socket(p.sock));
    CHECK(b.value(R"(buttervolume_job_consecutive_failures{volume="tmp",action="snapshot"})") == 1);
    CHECK(b.value(R"(buttervolume_job_last_success_timestamp_seconds{volume="tmp",action="snapshot"})") == now);
    RunResult failing = p.bv({"status", "--socket", p.sock.native(), "--json"});
    CHECK(failing.status == 1);
    doc.Parse(failing.out.c_str());
    REQUIRE(doc.IsObject());
    CHECK_FALSE(doc["Healthy"].GetBool());
    REQUIRE(doc["FailingJobs"].Size() == 1);
    CHECK(std::string(doc["FailingJobs"][0]["Volume"].GetString()) == "tmp");
    CHECK(std::string(doc["FailingJobs"][0]["Error"].GetString()).find("does not exist") != std::string::npos);

    // The job removed: healthy again; free space under a floor of 99%: not.
    REQUIRE(p.bv({"schedule", "snapshot", "0", "tmp"}).status == 0);
    CHECK(p.bv({"status", "--socket", p.sock.native()}).status == 0);
    RunResult full = p.bv({"status", "--socket", p.sock.native()}, {"BUTTERVOLUME_MIN_FREE=99"});
    INFO(full.out << full.err);
    CHECK(full.status == 1);
    CHECK(full.out.find("under the floor") != std::string::npos);

    // A restart keeps the last successes (from the job records); stopped, status is unhealthy.
    CHECK(d->stop() == 0);
    RunResult stopped = p.bv({"status", "--socket", p.sock.native(), "--json"});
    CHECK(stopped.status == 1);
    doc.Parse(stopped.out.c_str());
    REQUIRE(doc.IsObject());
    CHECK_FALSE(doc["Daemon"]["Running"].GetBool());
    auto again = p.start();
    Scrape c(scrape_socket(p.sock));
    CHECK(c.value(R"(buttervolume_job_last_success_timestamp_seconds{volume="db",action="snapshot"})") >= now);
    CHECK(again->stop() == 0);
}

TEST_CASE("metrics: a scheduled replicate counts its bytes and last success per host; status shows its lag",
          "[metrics][seams]")
{
    SchedulerDaemon p;
    p.env.push_back("BUTTERVOLUME_SSH_CONFIG=" + ssh_client().config().native());
    p.create("db");
    p.write("db", std::string(100000, 'x'));
    SshHost host("metrics-up", KeyMode::ServeSsh);
    const std::string action = "replicate:" + host.alias();
    REQUIRE(p.bv({"schedule", action, "60", "db"}).status == 0);
    auto d = p.start();
    REQUIRE_LOGGED(*d, eventually([&] { return p.job("db", action)["LastResult"] == "ok"; }));
    REQUIRE_LOGGED(*d, eventually([&] {
        return Scrape(scrape_socket(p.sock)).value(R"(buttervolume_job_runs_total{action="replicate",result="ok"})") == 1;
    }));
    Scrape a(scrape_socket(p.sock));
    INFO(a.text);
    const double now = duration<double>(p.clock.now().time_since_epoch()).count();
    CHECK(a.value(fmt::format(R"(buttervolume_replication_bytes_total{{host="{}"}})", host.alias())) > 100000);
    CHECK(a.value(fmt::format(R"(buttervolume_replication_last_success_timestamp_seconds{{volume="db",host="{}"}})",
                              host.alias())) == now);
    p.clock.advance(minutes(30));
    RunResult s = p.bv({"status", "--socket", p.sock.native(), "--json"});
    INFO(s.out);
    CHECK(s.status == 0);
    rapidjson::Document doc;
    doc.Parse(s.out.c_str());
    REQUIRE(doc.IsObject());
    REQUIRE(doc["Replication"].Size() == 1);
    CHECK(std::string(doc["Replication"][0]["Host"].GetString()) == host.alias());
    CHECK(doc["Replication"][0]["LagSeconds"].GetDouble() == 1800);
    CHECK(d->stop() == 0);
}

TEST_CASE("metrics: the example alert rules are valid", "[metrics]")
{
    RunResult r = run({"promtool", "check", "rules", std::string(BV_SOURCE_ROOT) + "/packaging/prometheus/alerts.yml"});
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("SUCCESS: 2 rules found") != std::string::npos);
}
