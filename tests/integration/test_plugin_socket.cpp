// SPDX-License-Identifier: Apache-2.0
// The real `buttervolume run` on its unix socket: the wire protocol, the socket's life, restarts
// and parallel requests, as Docker would meet them.
#include "../catch.hpp"
#include "fixture.hpp"
#include "plugin_daemon.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/format.h>

#include <rapidjson/document.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

struct Setup {
    BtrfsFixture fsx;
    fs::path sock;
    Setup() : sock(fsx.mnt().parent_path() / "run" / "plugins" / "btrfs.sock") { fs::create_directories(fsx.root()); }
};

rapidjson::Document parse(const HttpReply& r)
{
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    INFO(r.headers << "\n\n" << r.body);
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    return doc;
}

rapidjson::Document ok(const HttpReply& r)
{
    INFO(r.headers << "\n\n" << r.body);
    REQUIRE(r.status == 200);
    return parse(r);
}

// A failure as Docker must see it: the status, a JSON body with a non-empty Err.
std::string failed(const HttpReply& r, int status)
{
    INFO(r.headers << "\n\n" << r.body);
    CHECK(r.status == status);
    CHECK_THAT(r.headers, Catch::Contains("Content-Type: application/vnd.docker.plugins.v1+json"));
    auto doc = parse(r);
    REQUIRE(doc.HasMember("Err"));
    std::string err = doc["Err"].GetString();
    CHECK_FALSE(err.empty());
    return err;
}

std::string post_json(const std::string& name, const std::string& id = "")
{
    return id.empty() ? fmt::format(R"({{"Name":"{}"}})", name) : fmt::format(R"({{"Name":"{}","ID":"{}"}})", name, id);
}

std::size_t mounts_of(const fs::path& sock, const std::string& name)
{
    return ok(docker_post(sock, "/VolumeDriver.Get", post_json(name)))["Volume"]["Status"]["Mounts"].GetUint64();
}

int listening_socket(const fs::path& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    return fd;
}

} // namespace

TEST_CASE("plugin-socket: every endpoint answers Docker's requests, one log line each", "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock);
    auto act = ok(docker_post(s.sock, "/Plugin.Activate", ""));
    CHECK(std::string(act["Implements"][0].GetString()) == "VolumeDriver");
    CHECK(std::string(ok(docker_post(s.sock, "/VolumeDriver.Capabilities", "{}"))["Capabilities"]["Scope"].GetString()) ==
          "local");
    ok(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"db","Opts":{"size":"64M","copyonwrite":"false"}})"));
    ok(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"anon","Opts":null})"));
    auto got = ok(docker_post(s.sock, "/VolumeDriver.Get", post_json("db")));
    CHECK_THAT(got["Volume"]["CreatedAt"].GetString(), Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
    CHECK(got["Volume"]["Status"]["SizeLimit"].GetUint64() == (64ULL << 20));
    CHECK_FALSE(got["Volume"]["Status"]["CopyOnWrite"].GetBool());
    auto list = ok(docker_post(s.sock, "/VolumeDriver.List", "{}"));
    CHECK(list["Volumes"].Size() == 2);
    std::string dir = (s.fsx.root() / "volumes" / "db").native();
    CHECK(std::string(ok(docker_post(s.sock, "/VolumeDriver.Path", post_json("db")))["Mountpoint"].GetString()) == dir);
    CHECK(std::string(ok(docker_post(s.sock, "/VolumeDriver.Mount", post_json("db", "c0ffee")))["Mountpoint"].GetString()) ==
          dir);
    ok(docker_post(s.sock, "/VolumeDriver.Unmount", post_json("db", "c0ffee")));
    ok(docker_post(s.sock, "/VolumeDriver.Remove", post_json("db")));
    CHECK_FALSE(fs::exists(dir));

    REQUIRE(d.stop() == 0);
    std::string log = d.log();
    INFO(log);
    for (const char* line : {"/Plugin.Activate volume=- result=ok", "/VolumeDriver.Create volume=db result=ok",
                             "/VolumeDriver.Get volume=db result=ok", "/VolumeDriver.List volume=- result=ok",
                             "/VolumeDriver.Mount volume=db result=ok", "/VolumeDriver.Unmount volume=db result=ok",
                             "/VolumeDriver.Remove volume=db result=ok", "/VolumeDriver.Path volume=db result=ok",
                             "/VolumeDriver.Capabilities volume=- result=ok"})
        CHECK_THAT(log, Catch::Matches(fmt::format("(.|\n)*Z info {} \\d+\\.\\d{{3}}ms\n(.|\n)*", line)));
}

TEST_CASE("plugin-socket: errors are JSON with a non-200 status, never HTML or empty", "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock);
    CHECK(failed(docker_post(s.sock, "/VolumeDriver.Get", post_json("nope")), 500) == "volume 'nope': no such volume");
    CHECK_THAT(failed(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"x","Opts":{"size":"huge"}})"), 500),
               Catch::Contains("huge"));
    CHECK_THAT(failed(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":)"), 400),
               Catch::Contains("malformed JSON"));
    CHECK_THAT(failed(docker_post(s.sock, "/VolumeDriver.Bogus", "{}"), 404), Catch::Contains("unknown endpoint"));
    // What httplib answers by itself: a GET, a request line that is not HTTP.
    CHECK_THAT(failed(http_exchange(s.sock, "GET /VolumeDriver.List HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                      404),
               Catch::Contains("not found"));
    failed(http_exchange(s.sock, "HELLO\r\n\r\n"), 400);
    CHECK_FALSE(fs::exists(s.fsx.root() / "volumes" / "x"));
}

TEST_CASE("plugin-socket: empty bodies, no Content-Length, null Opts and any Host are accepted", "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock);
    // Content-Length: 0, and no Content-Length at all (curl -X POST).
    ok(docker_post(s.sock, "/Plugin.Activate", ""));
    ok(http_exchange(s.sock, "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\nConnection: close\r\n\r\n"));
    ok(http_exchange(s.sock, "POST /VolumeDriver.List HTTP/1.1\r\nConnection: close\r\n\r\n"));
    // Old daemons sent the URL-escaped socket path as Host; Podman sends "plugin".
    for (const char* host : {"%2Frun%2Fdocker%2Fplugins%2Fbtrfs.sock", "plugin", "", "[::1]:x"})
        ok(http_exchange(s.sock, docker_request("/VolumeDriver.Create", R"({"Name":"v","Opts":null})", host)));
    CHECK(fs::is_directory(s.fsx.root() / "volumes" / "v"));
}

TEST_CASE("plugin-socket: a mounted volume is not removed; Unmount of an unknown ID succeeds and is logged",
          "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock);
    ok(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"v","Opts":null})"));
    REQUIRE(write_bytes(s.fsx.root() / "volumes" / "v" / "data", 8192) == 0);
    ok(docker_post(s.sock, "/VolumeDriver.Mount", post_json("v", "m1")));
    CHECK_THAT(failed(docker_post(s.sock, "/VolumeDriver.Remove", post_json("v")), 500),
               Catch::Contains("'v'") && Catch::Contains("mounted"));
    CHECK(fs::file_size(s.fsx.root() / "volumes" / "v" / "data") == 8192);
    ok(docker_post(s.sock, "/VolumeDriver.Unmount", post_json("v", "never-seen")));
    CHECK(mounts_of(s.sock, "v") == 1);
    ok(docker_post(s.sock, "/VolumeDriver.Unmount", post_json("v", "m1")));
    ok(docker_post(s.sock, "/VolumeDriver.Remove", post_json("v")));
    REQUIRE(d.stop() == 0);
    CHECK_THAT(d.log(), Catch::Contains("warn /VolumeDriver.Unmount volume=v result=ok") &&
                            Catch::Contains("unknown mount ID 'never-seen'"));
}

TEST_CASE("plugin-socket: mount counts survive a daemon restart", "[plugin-socket]")
{
    Setup s;
    {
        PluginDaemon d(s.fsx.root(), s.sock);
        ok(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"v","Opts":null})"));
        ok(docker_post(s.sock, "/VolumeDriver.Mount", post_json("v", "m1")));
        ok(docker_post(s.sock, "/VolumeDriver.Mount", post_json("v", "m1")));
        ok(docker_post(s.sock, "/VolumeDriver.Mount", post_json("v", "m2")));
        // Killed, not stopped: a crash must not lose the counts either.
        REQUIRE(d.stop(SIGKILL) == 128 + SIGKILL);
    }
    PluginDaemon d(s.fsx.root(), s.sock); // also replaces the stale socket the kill left
    CHECK(mounts_of(s.sock, "v") == 3);
    failed(docker_post(s.sock, "/VolumeDriver.Remove", post_json("v")), 500);
    for (const char* id : {"m1", "m2", "m1"})
        ok(docker_post(s.sock, "/VolumeDriver.Unmount", post_json("v", id)));
    CHECK(mounts_of(s.sock, "v") == 0);
    ok(docker_post(s.sock, "/VolumeDriver.Remove", post_json("v")));
}

TEST_CASE("plugin-socket: a stale socket is replaced; a live one or a non-socket is refused", "[plugin-socket]")
{
    Setup s;
    fs::create_directories(s.sock.parent_path());
    ::close(listening_socket(s.sock)); // bound then closed: a file nobody listens on
    REQUIRE(fs::is_socket(s.sock));
    {
        PluginDaemon d(s.fsx.root(), s.sock);
        ok(docker_post(s.sock, "/Plugin.Activate", ""));
        // timeout: a second daemon that wrongly took the socket over would otherwise serve forever.
        auto second = run({"timeout", "10", buttervolume_bin(), "--root", s.fsx.root().native(), "run", "--socket",
                           s.sock.native()});
        CHECK(second.status == 1);
        CHECK_THAT(second.err, Catch::Contains("already serving on '" + s.sock.native() + "'"));
        ok(docker_post(s.sock, "/Plugin.Activate", "")); // the first one was left alone
    }
    fs::path file = s.sock.parent_path() / "notasocket";
    sh(fmt::format("echo keep > '{}'", file.native()));
    auto refused =
        run({"timeout", "10", buttervolume_bin(), "--root", s.fsx.root().native(), "run", "--socket", file.native()});
    CHECK(refused.status == 1);
    CHECK_THAT(refused.err, Catch::Contains("is not a socket"));
    CHECK(sh(fmt::format("cat '{}'", file.native())) == "keep\n");
}

TEST_CASE("plugin-socket: the socket is 0660 whatever the umask, and its directory is created", "[plugin-socket]")
{
    Setup s;
    REQUIRE_FALSE(fs::exists(s.sock.parent_path()));
    PluginDaemon d(s.fsx.root(), s.sock, {.shell_prefix = "umask 000;"});
    struct stat st;
    REQUIRE(::lstat(s.sock.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0660);
    CHECK(st.st_uid == 0);
}

TEST_CASE("plugin-socket: SIGTERM and SIGINT remove the socket and exit 0", "[plugin-socket]")
{
    Setup s;
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        PluginDaemon d(s.fsx.root(), s.sock);
        ok(docker_post(s.sock, "/Plugin.Activate", ""));
        CHECK(d.stop(sig) == 0);
        CHECK_FALSE(fs::exists(s.sock));
    }
}

TEST_CASE("plugin-socket: a request in flight at SIGTERM is answered before the daemon exits", "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock);
    std::string req = docker_request("/VolumeDriver.Create", R"({"Name":"late","Opts":null})");
    std::size_t split = req.size() - 10; // headers and half the body now, the rest after SIGTERM
    int fd = connect_unix(s.sock);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, req.data(), split) == static_cast<ssize_t>(split));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(d.pid(), SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(connect_unix(s.sock) < 0); // no new connections once stopping
    REQUIRE(::write(fd, req.data() + split, req.size() - split) == static_cast<ssize_t>(req.size() - split));
    std::string raw;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        raw.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    CHECK_THAT(raw, Catch::StartsWith("HTTP/1.1 200"));
    CHECK(fs::is_directory(s.fsx.root() / "volumes" / "late"));
    CHECK(d.wait_exit(std::chrono::seconds(10)) == 0);
    CHECK_FALSE(fs::exists(s.sock));
}

TEST_CASE("plugin-socket: under systemd socket activation the passed socket is served and kept", "[plugin-socket]")
{
    Setup s;
    fs::create_directories(s.sock.parent_path());
    int lfd = listening_socket(s.sock);
    fs::path ignored = s.sock.parent_path() / "ignored.sock";
    {
        PluginDaemon d(s.fsx.root(), ignored,
                       {.shell_prefix = "LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS;", .pass_fd = lfd,
                        .wait_ready = false});
        HttpReply r;
        for (int i = 0; i < 100 && r.status == 0; ++i)
            r = docker_post(s.sock, "/Plugin.Activate", ""); // queued on the socket until served
        ok(r);
        CHECK_FALSE(fs::exists(ignored));
        CHECK(d.stop() == 0);
        CHECK_THAT(d.log(), Catch::Contains("(from systemd)"));
    }
    // systemd's socket still exists and still listens: the next connection would start us again.
    CHECK(fs::is_socket(s.sock));
    int c = connect_unix(s.sock);
    CHECK(c >= 0);
    ::close(c);
    ::close(lfd);
}

TEST_CASE("plugin-socket: parallel requests are all answered and mount counts stay exact", "[plugin-socket]")
{
    Setup s;
    PluginDaemon d(s.fsx.root(), s.sock, {.extra_args = {"--log-level", "warn"}});
    ok(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"shared","Opts":null})"));
    constexpr int threads = 24, rounds = 5;
    std::atomic<int> failures{0};
    std::vector<std::string> errors(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            auto expect = [&](const HttpReply& r, std::string_view what) {
                if (r.status != 200) {
                    ++failures;
                    errors[t] += fmt::format("{} -> {} {}\n", what, r.status, r.body);
                }
            };
            std::string own = fmt::format("own{}", t);
            // Everybody also creates "same" with equal options: idempotent under races.
            expect(docker_post(s.sock, "/VolumeDriver.Create", R"({"Name":"same","Opts":{"compression":"zstd"}})"),
                   "create same");
            expect(docker_post(s.sock, "/VolumeDriver.Create", post_json(own)), "create own");
            for (int i = 0; i < rounds; ++i) {
                std::string id = fmt::format("t{}r{}", t, i);
                expect(docker_post(s.sock, "/VolumeDriver.Mount", post_json("shared", id)), "mount");
                expect(docker_post(s.sock, "/VolumeDriver.Get", post_json("shared")), "get");
                expect(docker_post(s.sock, "/VolumeDriver.List", "{}"), "list");
            }
            for (int i = 0; i < rounds; ++i)
                expect(docker_post(s.sock, "/VolumeDriver.Unmount", post_json("shared", fmt::format("t{}r{}", t, i))),
                       "unmount");
            expect(docker_post(s.sock, "/VolumeDriver.Remove", post_json(own)), "remove own");
        });
    }
    for (auto& t : pool)
        t.join();
    std::string all;
    for (const auto& e : errors)
        all += e;
    INFO(all);
    CHECK(failures == 0);
    CHECK(mounts_of(s.sock, "shared") == 0);
    auto list = ok(docker_post(s.sock, "/VolumeDriver.List", "{}"));
    CHECK(list["Volumes"].Size() == 2); // shared, same
    // --log-level warn: no line for the hundreds of successful requests.
    REQUIRE(d.stop() == 0);
    CHECK_THAT(d.log(), !Catch::Contains("result=ok"));
}
