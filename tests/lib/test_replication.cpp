// SPDX-License-Identifier: Apache-2.0
// Pure parts of replication: HOST parsing, the ssh command line, parent negotiation.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>

#include <algorithm>

using namespace buttervolume;

namespace {

RemoteSnapshot snap(const std::string& name, const std::string& uuid, const std::string& received = "")
{
    RemoteSnapshot s;
    s.name = name;
    s.uuid = uuid;
    s.received_uuid = received;
    return s;
}

bool has_pair(const std::vector<std::string>& argv, const std::string& a, const std::string& b)
{
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
        if (argv[i] == a && argv[i + 1] == b)
            return true;
    return false;
}

} // namespace

TEST_CASE("remote: HOST is [user@]host[:port] or an alias; anything else is refused", "[remote]")
{
    Remote r = Remote::parse("backup@node-2.example:2222");
    CHECK(r.user == "backup");
    CHECK(r.host == "node-2.example");
    CHECK(r.port == 2222);
    CHECK(r.trace_name() == "node-2.example:2222");
    CHECK(Remote::parse("nodeB").host == "nodeB");
    for (const char* bad : {"", "-oProxyCommand=sh", "a b", "host;rm", "host:0", "host:65536", "host:x", "@host",
                            "user@", "h$(id)"})
        CHECK_THROWS_AS(Remote::parse(bad), InvalidArgument);
}

TEST_CASE("remote: ssh runs in batch mode with timeouts, never with host key checks off", "[remote]")
{
    RemoteSettings s;
    s.identity = "/k/id";
    s.port = 1122;
    Remote r = Remote::parse("root@h", s);
    auto argv = r.ssh_argv("buttervolume serve-ssh list db");
    CHECK(argv.front() == "ssh");
    CHECK(has_pair(argv, "-o", "BatchMode=yes"));
    CHECK(has_pair(argv, "-o", "ConnectTimeout=10"));
    CHECK(has_pair(argv, "-o", "ServerAliveInterval=15"));
    CHECK(has_pair(argv, "-i", "/k/id"));
    CHECK(has_pair(argv, "-p", "1122"));
    CHECK(has_pair(argv, "-l", "root"));
    CHECK(has_pair(argv, "--", "h"));
    CHECK(argv.back() == "buttervolume serve-ssh list db");
    CHECK(std::none_of(argv.begin(), argv.end(), [](const std::string& a) {
        return a.find("StrictHostKeyChecking") != std::string::npos;
    }));
    // A port in HOST wins over the settings'.
    CHECK(has_pair(Remote::parse("h:2200", s).ssh_argv("x"), "-p", "2200"));
}

TEST_CASE("negotiation: the newest older snapshot the remote holds, by UUID only", "[remote]")
{
    std::vector<RemoteSnapshot> local{snap("db@1", "u1"), snap("db@2", "u2"), snap("db@3", "u3"), snap("db@4", "u4")};
    // The remote received db@1 and db@2 from us (its received UUIDs are ours).
    std::vector<RemoteSnapshot> remote{snap("db@1", "r1", "u1"), snap("db@2", "r2", "u2")};
    CHECK(choose_parent(local, "db@4", remote) == "db@2");
    // Names do not count: a remote snapshot of the same name with other content is no parent.
    std::vector<RemoteSnapshot> impostor{snap("db@3", "rx", "other")};
    CHECK(choose_parent(local, "db@4", impostor) == std::nullopt);
    // Nothing in common: full.
    CHECK(choose_parent(local, "db@4", {}) == std::nullopt);
    // A snapshot that came from the remote (our received UUID is its UUID) is common too.
    std::vector<RemoteSnapshot> pulled{snap("db@1", "a1", "r1"), snap("db@2", "a2")};
    CHECK(choose_parent(pulled, "db@2", {snap("db@1", "r1")}) == "db@1");
    // Only newer ones in common: the oldest of those.
    CHECK(choose_parent(local, "db@2", {snap("db@3", "r3", "u3"), snap("db@4", "r4", "u4")}) == "db@3");
    // Both received from a third host.
    CHECK(correlated(snap("a", "x", "third"), snap("b", "y", "third")));
    CHECK(!correlated(snap("a", "x"), snap("b", "y")));
}
