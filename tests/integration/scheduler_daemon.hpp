// SPDX-License-Identifier: Apache-2.0
// For the scheduler's tests: a loop btrfs pool, the test clock (BUTTERVOLUME_TEST_NOW_FILE) that
// the test moves, the CLI, and the real `buttervolume run` with a one-second tick.
#pragma once

#include "../catch.hpp"
#include "fixture.hpp"
#include "plugin_daemon.hpp"
#include "seams.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/snapshot.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <rapidjson/document.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace buttervolume::test {

/// The scheduler's clock: a file holding a snapshot timestamp, read by the library's clock at
/// every call in a -Dtest_seams build when BUTTERVOLUME_TEST_NOW_FILE names it.
class TestClock {
public:
    explicit TestClock(std::filesystem::path file) : file_(std::move(file))
    {
        using namespace std::chrono;
        set(sys_days(year(2026) / 12 / 1) + hours(8));
    }
    void set(std::chrono::system_clock::time_point t)
    {
        now_ = t;
        std::ofstream(file_) << format_snapshot_timestamp(t) << "\n";
    }
    void advance(std::chrono::system_clock::duration d) { set(now_ + d); }
    std::chrono::system_clock::time_point now() const { return now_; }
    const std::filesystem::path& file() const { return file_; }
    /// "BUTTERVOLUME_TEST_NOW_FILE=<file>", for a child's environment.
    std::string env() const { return "BUTTERVOLUME_TEST_NOW_FILE=" + file_.native(); }

private:
    std::filesystem::path file_;
    std::chrono::system_clock::time_point now_;
};

/// Polls done() every 100 ms until it is true or timeout passed; returns its last value. The
/// bound is generous (ssh on a loaded 2-core machine); a passing test never waits for it.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(60))
{
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done())
            return true;
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

/// How often text occurs in log.
inline std::size_t occurrences(const std::string& log, const std::string& text)
{
    std::size_t n = 0;
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1))
        ++n;
    return n;
}

/// One job of `scheduled --json`, its fields as text ("" for null; numbers and booleans as
/// JSON writes them).
struct JobView {
    std::map<std::string, std::string> fields;
    std::string operator[](const std::string& key) const
    {
        auto it = fields.find(key);
        return it == fields.end() ? std::string() : it->second;
    }
    bool found() const { return !fields.empty(); }
};

/// A pool on its own loop btrfs, its clock, and the CLI on it.
struct SchedulePool {
    BtrfsFixture fsx;
    std::filesystem::path root = fsx.root();
    TestClock clock{fsx.mnt() / "now"};
    /// Extra environment of the daemon and of the CLI ("NAME=value").
    std::vector<std::string> env;

    SchedulePool()
    {
        std::filesystem::create_directories(root);
        Pool p(root);
    }
    void create(const std::string& volume) { Pool(root).create_volume(volume); }

    /// The CLI on the pool, with env and the clock.
    RunResult bv(std::vector<std::string> args, std::vector<std::string> more_env = {}) const
    {
        args.insert(args.begin(), {buttervolume_bin(), "--root", root.native()});
        more_env.insert(more_env.end(), env.begin(), env.end());
        more_env.push_back(clock.env());
        return run(args, more_env);
    }
};

/// A SchedulePool whose daemon is started on demand with a one-second tick.
struct SchedulerDaemon : SchedulePool {
    std::filesystem::path sock = fsx.mnt() / "plugin.sock";

    SchedulerDaemon() { require_test_seams(); }

    /// Starts `run` with BUTTERVOLUME_TIMER=1 and the clock, waiting until its socket answers.
    std::unique_ptr<PluginDaemon> start() const
    {
        std::string prefix = fmt::format("BUTTERVOLUME_TIMER=1; BUTTERVOLUME_TEST_NOW_FILE='{}'; export "
                                         "BUTTERVOLUME_TIMER BUTTERVOLUME_TEST_NOW_FILE;",
                                         clock.file().native());
        for (const auto& e : env)
            prefix += fmt::format(" export '{}';", e);
        return std::make_unique<PluginDaemon>(root, sock, PluginDaemon::Options{.shell_prefix = prefix});
    }
    /// Lets the daemon tick at least once more with the clock as it is now.
    static void ticks() { std::this_thread::sleep_for(std::chrono::milliseconds(2200)); }

    std::vector<Snapshot> snapshots(const std::string& volume) const { return Pool(root).snapshots(volume); }
    std::size_t count(const std::string& volume) const { return snapshots(volume).size(); }
    bool wait_count(const std::string& volume, std::size_t n) const
    {
        return eventually([&] { return count(volume) >= n; });
    }
    static bool wait_log(const PluginDaemon& d, const std::string& text, std::size_t times = 1)
    {
        return eventually([&] { return occurrences(d.log(), text) >= times; });
    }
    void write(const std::string& volume, const std::string& text) const
    {
        std::ofstream(root / "volumes" / volume / "data", std::ios::app) << text;
    }

    /// The job (volume, action) as `scheduled --json` shows it; empty when not listed.
    JobView job(const std::string& volume, const std::string& action) const
    {
        JobView v;
        RunResult r = bv({"scheduled", "--json"});
        rapidjson::Document doc;
        doc.Parse(r.out.c_str());
        if (!doc.IsObject() || !doc.HasMember("Jobs"))
            return v;
        for (const auto& j : doc["Jobs"].GetArray()) {
            if (j["Volume"].GetString() != volume || j["Action"].GetString() != action)
                continue;
            for (const auto& m : j.GetObject()) {
                std::string text;
                if (m.value.IsString())
                    text = m.value.GetString();
                else if (m.value.IsBool())
                    text = m.value.GetBool() ? "true" : "false";
                else if (m.value.IsUint64())
                    text = std::to_string(m.value.GetUint64());
                v.fields[m.name.GetString()] = text;
            }
        }
        return v;
    }
};

/// REQUIRE(cond), with the daemon's log in the report when it fails.
#define REQUIRE_LOGGED(daemon, ...)                                                                                 \
    do {                                                                                                           \
        const bool met = (__VA_ARGS__);                                                                            \
        INFO((daemon).log());                                                                                      \
        REQUIRE(met);                                                                                              \
    } while (0)

/// "2026-12-01T08:01:00Z", as `scheduled` writes times.
inline std::string rfc3339_text(std::chrono::system_clock::time_point t)
{
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

} // namespace buttervolume::test
