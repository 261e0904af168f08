// SPDX-License-Identifier: Apache-2.0
// `schedule` and `scheduled` as an operator runs them: checks before any change, the Python file
// format, pause and resume, missing volumes, --json, and a kill in the middle of a rewrite.
#include "scheduler_daemon.hpp"

#include <buttervolume/pool.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>

using namespace buttervolume;
using namespace buttervolume::test;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p)
{
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A pool with volume "db" and its schedule file.
struct CliPool : SchedulePool {
    fs::path csv = root / "config" / "schedule.csv";
    CliPool() { create("db"); }
};

} // namespace

TEST_CASE("schedule cli: jobs are written in the Python plugin's format, replaced by (volume, action)", "[schedule-cli]")
{
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "synchronize:a,b", "30", "db"}).status == 0);
    auto again = p.bv({"schedule", "snapshot", "120", "db"});
    REQUIRE(again.status == 0);
    CHECK(again.out == "rescheduled snapshot of volume 'db' every 120 min\n");
    CHECK(read_text(p.csv) == "db,snapshot,120,True\ndb,\"synchronize:a,b\",30,True\n");
    REQUIRE(p.bv({"schedule", "snapshot", "pause", "db"}).status == 0);
    CHECK(read_text(p.csv) == "db,snapshot,120,False\ndb,\"synchronize:a,b\",30,True\n");
    REQUIRE(p.bv({"schedule", "snapshot", "resume", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "synchronize:a,b", "0", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "snapshot", "delete", "db"}).status == 0);
    CHECK(read_text(p.csv).empty());
}

TEST_CASE("schedule cli: every part is checked before the file changes", "[schedule-cli]")
{
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    const std::string before = read_text(p.csv);
    struct Case {
        std::vector<std::string> args;
        std::string error;
    };
    for (const auto& c : std::vector<Case>{
             {{"schedule", "snapshoot", "60", "db"}, "invalid action 'snapshoot': unknown action"},
             {{"schedule", "replicate:a;reboot", "60", "db"}, "host 'a;reboot'"},
             {{"schedule", "replicate:-oProxyCommand=x", "60", "db"}, "may not start with '-'"},
             {{"schedule", "purge:2h:2h", "60", "db"}, "purge:2h:2h"},
             {{"schedule", "purge:1x", "60", "db"}, "purge:1x"},
             {{"schedule", "snapshot", "soon", "db"}, "invalid timer 'soon'"},
             {{"schedule", "snapshot", "1.5", "db"}, "invalid timer '1.5'"},
             {{"schedule", "snapshot", "60", "../etc"}, "invalid volume name '../etc'"},
             {{"schedule", "purge:1d", "delete", "db"}, "no scheduled job purge:1d of volume 'db' to delete"},
             {{"schedule", "purge:1d", "pause", "db"}, "to pause"},
         }) {
        INFO(fmt::format("{}", fmt::join(c.args, " ")));
        auto r = p.bv(c.args);
        CHECK(r.status == 1);
        CHECK(r.err.find(c.error) != std::string::npos);
        CHECK(read_text(p.csv) == before);
    }
    CHECK(p.bv({"schedule", "snapshot", "60"}).status == 2);
    CHECK(p.bv({"scheduled", "later"}).status == 2);
}

TEST_CASE("schedule cli: a job for a missing volume is accepted with a warning, and shown", "[schedule-cli]")
{
    CliPool p;
    auto r = p.bv({"schedule", "snapshot", "60", "later"});
    REQUIRE(r.status == 0);
    CHECK(r.err.find("warning: volume 'later' does not exist") != std::string::npos);
    auto list = p.bv({"scheduled"});
    REQUIRE(list.status == 0);
    CHECK(list.out.find("later") != std::string::npos);
    CHECK(list.out.find("volume does not exist") != std::string::npos);
    CHECK(list.out.find("next tick") != std::string::npos);
}

TEST_CASE("schedule cli: the global pause renames the file, as the Python project does", "[schedule-cli]")
{
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    auto paused = p.bv({"scheduled", "pause"});
    REQUIRE(paused.status == 0);
    CHECK_FALSE(fs::exists(p.csv));
    CHECK(read_text(p.root / "config" / "schedule.csv.disabled") == "db,snapshot,60,True\n");
    auto list = p.bv({"scheduled", "--json"});
    rapidjson::Document doc;
    doc.Parse(list.out.c_str());
    REQUIRE(doc.IsObject());
    CHECK(doc["Paused"].GetBool());
    // A change while paused goes to the paused file, with a warning.
    auto change = p.bv({"schedule", "purge:1d", "60", "db"});
    REQUIRE(change.status == 0);
    CHECK(change.err.find("globally paused") != std::string::npos);
    REQUIRE(p.bv({"scheduled", "resume"}).status == 0);
    CHECK(read_text(p.csv) == "db,snapshot,60,True\ndb,purge:1d,60,True\n");
    CHECK_FALSE(fs::exists(p.root / "config" / "schedule.csv.disabled"));
}

TEST_CASE("schedule cli: scheduled --json has each job's timer, state, results and next run", "[schedule-cli]")
{
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    REQUIRE(p.bv({"schedule", "replicate:b", "pause", "db"}).status == 1);
    std::ofstream(p.csv, std::ios::app) << "web,snapshoot,60,True\n";
    auto r = p.bv({"scheduled", "list", "--json"});
    REQUIRE(r.status == 0);
    rapidjson::Document doc;
    doc.Parse(r.out.c_str());
    REQUIRE(doc.IsObject());
    CHECK_FALSE(doc["Paused"].GetBool());
    REQUIRE(doc["Jobs"].Size() == 1);
    const auto& j = doc["Jobs"][0];
    CHECK(std::string(j["Volume"].GetString()) == "db");
    CHECK(std::string(j["Action"].GetString()) == "snapshot");
    CHECK(j["TimerMinutes"].GetUint() == 60);
    CHECK(j["Active"].GetBool());
    CHECK(std::string(j["State"].GetString()) == "active");
    CHECK(j["VolumeExists"].GetBool());
    CHECK(j["LastRun"].IsNull());
    CHECK(j["LastResult"].IsNull());
    CHECK(j["Failures"].GetUint() == 0);
    CHECK(j["DueNow"].GetBool());
    REQUIRE(doc["Invalid"].Size() == 1);
    CHECK(doc["Invalid"][0]["Line"].GetUint() == 2);
    CHECK(std::string(doc["Invalid"][0]["Error"].GetString()).find("unknown action") != std::string::npos);
}

TEST_CASE("schedule cli: a Latin-1 line in the file leaves --json and the table valid UTF-8", "[schedule-cli]")
{
    // Issue 29: the raw byte went into the JSON, and a strict parser lost every job with it.
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    std::ofstream(p.csv, std::ios::app) << "caf\xe9,snapshot,60,True\n"
                                        << "db,purge:1d\xe9,60,True\n"
                                        << "db,snapshot+purge:1d,60,\xc3\n";
    // Python's decoder, strict: what a JSON consumer meets. Prints what it could read.
    const fs::path saved = p.fsx.mnt() / "output";
    auto decoded = [&](const std::string& bytes, const std::string& how) {
        std::ofstream(saved, std::ios::trunc | std::ios::binary) << bytes;
        return run({"python3", "-c",
                    "import json, sys\n"
                    "text = open(sys.argv[1], 'rb').read().decode('utf-8', 'strict')\n"
                    "if sys.argv[2] == 'json':\n"
                    "    d = json.loads(text)\n"
                    "    print(len(d['Jobs']), d['Jobs'][0]['Volume'], len(d['Invalid']))\n"
                    "    print('\\n'.join(i['Text'] for i in d['Invalid']))\n",
                    saved.native(), how});
    };
    auto json = p.bv({"scheduled", "--json"});
    REQUIRE(json.status == 0);
    auto read = decoded(json.out, "json");
    INFO(read.err);
    REQUIRE(read.status == 0);
    // Each byte that is not UTF-8 is U+FFFD.
    CHECK(read.out == "1 db 3\ncaf\ufffd,snapshot,60,True\ndb,purge:1d\ufffd,60,True\ndb,snapshot+purge:1d,60,\ufffd\n");
    auto table = p.bv({"scheduled"});
    REQUIRE(table.status == 0);
    CHECK(decoded(table.out, "text").status == 0);
    CHECK(decoded(table.err, "text").status == 0);
    // The table escapes the byte, so the operator sees which one it is.
    CHECK(table.err.find("caf\\xe9,snapshot") != std::string::npos);
}

TEST_CASE("schedule cli: a kill during the rewrite leaves the old or the new file, never a mix", "[schedule-cli][seams]")
{
    require_test_seams();
    CliPool p;
    REQUIRE(p.bv({"schedule", "snapshot", "60", "db"}).status == 0);
    const std::string old_text = read_text(p.csv);
    auto killed = p.bv({"schedule", "purge:1d", "60", "db"}, {"BUTTERVOLUME_TEST_KILL_AT=schedule-before-rename"});
    CHECK(killed.status == 128 + 9);
    CHECK(read_text(p.csv) == old_text);
    // The half-done change is not seen, and the next one works.
    auto list = p.bv({"scheduled", "--json"});
    CHECK(list.out.find("purge") == std::string::npos);
    auto after = p.bv({"schedule", "purge:1w", "60", "db"}, {"BUTTERVOLUME_TEST_KILL_AT=schedule-after-rename"});
    CHECK(after.status == 128 + 9);
    CHECK(read_text(p.csv) == old_text + "db,purge:1w,60,True\n");
    REQUIRE(p.bv({"schedule", "purge:1d", "60", "db"}).status == 0);
    CHECK(read_text(p.csv) == old_text + "db,purge:1w,60,True\ndb,purge:1d,60,True\n");
}
