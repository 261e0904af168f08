// SPDX-License-Identifier: Apache-2.0
// Snapshot names: strict parsing (traversal shapes refused), formatting, and reading
// Python-written local-time stamps.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include "model/snapshot_time.hpp"

#include <buttervolume/snapshot.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>

using namespace buttervolume;
using namespace std::chrono;
using Clock = system_clock;

TEST_CASE("snapshot names: <volume>@<timestamp> is parsed into its parts", "[snapshot-name]")
{
    auto sn = parse_snapshot_name("db@2023-10-09T21:10:28.123456");
    REQUIRE(sn);
    CHECK(sn->volume == "db");
    CHECK(sn->timestamp == "2023-10-09T21:10:28.123456");
    CHECK(sn->str() == "db@2023-10-09T21:10:28.123456");
    auto expected = sys_days(year(2023) / October / 9) + hours(21) + minutes(10) + seconds(28) + microseconds(123456);
    CHECK(sn->utc == Clock::time_point(expected));
    CHECK(parse_snapshot_name("my.vol-1_x@2024-02-29T00:00:00.000000"));
}

TEST_CASE("snapshot names: split_snapshot_name reads the same parts in place", "[snapshot-name]")
{
    const std::string name = "db-1@2023-10-09T21:10:28.123456";
    std::string_view volume;
    Clock::time_point utc;
    REQUIRE(split_snapshot_name(name, volume, utc));
    CHECK(volume == "db-1");
    CHECK(volume.data() == name.data()); // a view into the name, not a copy
    CHECK(utc == parse_snapshot_name(name)->utc);
}

TEST_CASE("snapshot names: traversal shapes and other formats are refused with the reason", "[snapshot-name]")
{
    struct Case {
        std::string name;
        std::string why;
    };
    for (const auto& c : std::vector<Case>{
             {"x@/../../volumes/v", "the timestamp is not YYYY-MM-DDTHH:MM:SS.ffffff"},
             {"@", "its volume part is not a volume name (the name is empty)"},
             {"v@", "the timestamp is not"},
             {"@2023-10-09T21:10:28.123456", "its volume part is not a volume name"},
             {"/var/lib/buttervolume/snapshots/db@2023-10-09T21:10:28.123456", "its volume part is not a volume name"},
             {"../db@2023-10-09T21:10:28.123456", "its volume part is not a volume name"},
             {"db", "it has no '@'"},
             {"", "it has no '@'"},
             {"db@2023-10-09T21:10:28.123456@host", "more than one '@' (a replication trace"},
             {"db@2023-10-09T21:10:28.123456/..", "the timestamp is not"},
             {"db@2023-10-09T21:10:28", "the timestamp is not"},
             {"db@2023-10-09 21:10:28.123456", "the timestamp is not"},
             {"db@2023-13-09T21:10:28.123456", "not a valid date and time"},
             {"db@2023-02-29T21:10:28.123456", "not a valid date and time"},
             {"db@2023-10-09T24:00:00.000000", "not a valid date and time"},
             {"db@2023-10-09T21:10:28.12345a", "the timestamp is not"},
             {std::string("db@2023-10-09T21:10:28.12345\0", 29), "the timestamp is not"},
         }) {
        INFO(c.name);
        CHECK_FALSE(parse_snapshot_name(c.name));
        std::string_view volume;
        Clock::time_point utc;
        CHECK_FALSE(split_snapshot_name(c.name, volume, utc));
        CHECK_THROWS_AS(check_snapshot_name(c.name), InvalidArgument);
        CHECK_THROWS_WITH(check_snapshot_name(c.name), Catch::StartsWith("invalid snapshot name") && Catch::Contains(c.why));
    }
}

TEST_CASE("snapshot names: timestamps are written in UTC with microseconds", "[snapshot-name]")
{
    auto t = Clock::time_point(sys_days(year(2026) / November / 30).time_since_epoch() + hours(9) + minutes(5) +
                               seconds(7) + microseconds(42));
    CHECK(format_snapshot_timestamp(t) == "2026-11-30T09:05:07.000042");
    CHECK(format_snapshot_timestamp(t + nanoseconds(999)) == "2026-11-30T09:05:07.000042");
    auto sn = parse_snapshot_name("v@" + format_snapshot_timestamp(t));
    REQUIRE(sn);
    CHECK(sn->utc == t);
    // Whatever the process's time zone (fmt 9 formats time points in local time).
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    ::setenv("TZ", "Asia/Tokyo", 1);
    ::tzset();
    CHECK(format_snapshot_timestamp(t) == "2026-11-30T09:05:07.000042");
    if (old)
        ::setenv("TZ", saved.c_str(), 1);
    else
        ::unsetenv("TZ");
    ::tzset();
}

TEST_CASE("snapshot names: a Python local-time stamp is recognised by the subvolume's creation time", "[snapshot-name]")
{
    auto stamp = Clock::time_point(sys_days(year(2026) / June / 1).time_since_epoch() + hours(12));
    // Tokyo is UTC+9: a Python plugin there named a snapshot taken at 03:00 UTC "12:00".
    auto local = stamp - hours(9);
    CHECK(read_snapshot_time(stamp, local, local + milliseconds(30)) == TimestampZone::Local);
    // Ours: otime right after the UTC reading.
    CHECK(read_snapshot_time(stamp, local, stamp + milliseconds(30)) == TimestampZone::Utc);
    // Received from elsewhere (otime days later): the name is taken as UTC.
    CHECK(read_snapshot_time(stamp, local, stamp + hours(72)) == TimestampZone::Utc);
    // A UTC machine: both readings agree.
    CHECK(read_snapshot_time(stamp, stamp, stamp + seconds(1)) == TimestampZone::Utc);
    // The kernel's coarse clock may put otime a little before the name's microseconds.
    CHECK(read_snapshot_time(stamp, local, local - milliseconds(3)) == TimestampZone::Local);

    // local_reading follows the process's time zone.
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    ::setenv("TZ", "Asia/Tokyo", 1);
    ::tzset();
    CHECK(local_reading(stamp) == local);
    CHECK(local_reading(stamp + microseconds(7)) == local + microseconds(7));
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    CHECK(local_reading(stamp) == stamp);
    if (old)
        ::setenv("TZ", saved.c_str(), 1);
    else
        ::unsetenv("TZ");
    ::tzset();
}
