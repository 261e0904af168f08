// SPDX-License-Identifier: Apache-2.0
// Retention over synthetic clocks: a year of hourly snapshots purged every hour, stability,
// the newest snapshot, calendar buckets, and pattern errors.
#include "../catch.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/retention.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

using namespace buttervolume;
using namespace std::chrono;
using Clock = system_clock;

namespace {

Clock::time_point at(int y, unsigned m, unsigned d, int h = 0, int min = 0)
{
    return Clock::time_point(sys_days(year(y) / month(m) / day(d)).time_since_epoch() + hours(h) + minutes(min));
}

std::vector<bool> keeps(const std::string& pattern, const std::vector<Clock::time_point>& times, Clock::time_point now)
{
    std::vector<bool> out;
    for (const auto& d : decide_retention(RetentionPattern::parse(pattern), times, now))
        out.push_back(d.keep);
    return out;
}

// The band a snapshot of this age is in: -1 younger than the first duration, i for
// D[i] <= age < D[i+1] (the last band includes its upper bound), size-1 beyond the last.
int band_of(const RetentionPattern& p, Clock::duration age)
{
    const auto& D = p.durations;
    if (age < D.front().length)
        return -1;
    if (age > D.back().length)
        return static_cast<int>(D.size()) - 1;
    int band = 0;
    while (band + 2 < static_cast<int>(D.size()) && age >= D[band + 1].length)
        ++band;
    return band;
}

} // namespace

TEST_CASE("retention: hourly snapshots for a year under 1h:1d:1w:4w:1y, purged hourly", "[retention]")
{
    const auto pattern = RetentionPattern::parse("1h:1d:1w:4w:1y");
    // Start on a Monday 00:00 UTC that also starts a 4-week bucket (buckets of weeks are counted
    // from Monday 1970-01-05), so that every day, week and 4 weeks begin with a snapshot.
    const sys_days monday0{year(1970) / January / 5};
    const auto weeks4 = days(28);
    const sys_days t0 = monday0 + (sys_days{year(2025) / January / 6} - monday0) / weeks4 * weeks4;
    REQUIRE(weekday(t0) == Monday);

    const int total_hours = 400 * 24; // more than a year, so the last bound is reached
    std::vector<Clock::time_point> alive;
    std::map<Clock::time_point, Clock::duration> previous_age;
    for (int h = 0; h < total_hours; ++h) {
        Clock::time_point now = Clock::time_point(t0.time_since_epoch()) + hours(h);
        alive.push_back(now);
        auto decisions = decide_retention(pattern, alive, now);
        REQUIRE(decisions.back().keep); // the newest, always
        std::vector<Clock::time_point> next;
        for (std::size_t i = 0; i < alive.size(); ++i) {
            auto age = now - alive[i];
            if (decisions[i].keep) {
                next.push_back(alive[i]);
                continue;
            }
            // Stability: a snapshot is only ever deleted in the run where it enters a new band;
            // one that was kept stays kept while it stays in its band.
            INFO(fmt::format("hour {}: deleted a snapshot of age {}h: {}", h, duration_cast<hours>(age).count(),
                             decisions[i].reason));
            REQUIRE(band_of(pattern, age) != band_of(pattern, age - hours(1)));
        }
        alive = std::move(next);
        // A purge right after another deletes nothing.
        auto again = decide_retention(pattern, alive, now);
        REQUIRE(std::all_of(again.begin(), again.end(), [](const auto& d) { return d.keep; }));
    }

    // The exact survivors, in calendar terms.
    const Clock::time_point now = alive.back();
    std::set<Clock::time_point> expected;
    for (int h = 0; h < total_hours; ++h) {
        Clock::time_point t = Clock::time_point(t0.time_since_epoch()) + hours(h);
        auto age = now - t;
        auto day_start = floor<days>(t);
        bool midnight = t == Clock::time_point(day_start.time_since_epoch());
        bool monday = midnight && weekday(day_start) == Monday;
        bool four_week_start = monday && (day_start - monday0).count() % 28 == 0;
        if (age < hours(24) ||                                     // 1h and the hourly band 1h-1d
            (age < hours(24 * 7) && midnight) ||                   // daily band 1d-1w: days' first snapshots
            (age < hours(24 * 28) && monday) ||                    // weekly band 1w-4w: Mondays
            (age <= hours(24 * 365) && four_week_start))           // 4w-1y: the first Monday of 4 weeks
            expected.insert(t);
    }
    std::set<Clock::time_point> got(alive.begin(), alive.end());
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
    // 24 hourly, 6 daily, 3 weekly, and 12 or 13 four-weekly.
    CHECK(got.size() >= 24 + 6 + 3 + 12);
    CHECK(got.size() <= 24 + 6 + 3 + 14);
    CHECK(*got.begin() >= now - hours(24 * 365));
}

TEST_CASE("retention: the newest snapshot is kept even when older than every duration", "[retention]")
{
    auto now = at(2026, 11, 30, 12);
    auto k = keeps("1h:1d", {at(2020, 1, 1), at(2021, 1, 1)}, now);
    CHECK(k == std::vector<bool>{false, true});
    auto single = decide_retention(RetentionPattern::parse("2h"), {at(2026, 11, 30, 1)}, now);
    CHECK(single[0].keep);
    CHECK(single[0].reason == "newest snapshot");
    CHECK(decide_retention(RetentionPattern::parse("2h"), {}, now).empty());
}

TEST_CASE("retention: one duration keeps what is younger and deletes what is older", "[retention]")
{
    auto now = at(2026, 11, 30, 12);
    auto d = decide_retention(RetentionPattern::parse("2h"),
                              {at(2026, 11, 30, 9), at(2026, 11, 30, 10, 30), at(2026, 11, 30, 11)}, now,
                              {"v@a", "v@b", "v@c"});
    CHECK_FALSE(d[0].keep);
    CHECK(d[0].reason == "older than 2h");
    CHECK(d[1].keep);
    CHECK(d[1].reason == "younger than 2h");
    CHECK(d[2].keep);
}

TEST_CASE("retention: buckets follow the UTC calendar, not the time of the run", "[retention]")
{
    // 23:30 and 00:30 are 1 hour apart but on two calendar days: both are the first of their
    // day. 00:30 and 05:00 share a day: the older one is kept.
    std::vector<Clock::time_point> t{at(2026, 11, 20, 23, 30), at(2026, 11, 21, 0, 30), at(2026, 11, 21, 5),
                                     at(2026, 11, 30, 11)};
    std::vector<std::string> names{"v@1", "v@2", "v@3", "v@4"};
    for (auto now : {at(2026, 11, 30, 12), at(2026, 11, 30, 18, 17), at(2026, 12, 1, 3)}) {
        auto d = decide_retention(RetentionPattern::parse("1d:1w:4w"), t, now, names);
        INFO(fmt::format("{}", floor<seconds>(now)));
        CHECK(d[0].keep);
        CHECK(d[0].reason == "oldest in bucket 2026-11-16 (1w) of band 1w-4w");
        CHECK_FALSE(d[1].keep);
        CHECK(d[1].reason == "bucket 2026-11-16 (1w) of band 1w-4w already keeps v@1");
    }
    // A week earlier the same snapshots were in the daily band: one per calendar day.
    auto d = decide_retention(RetentionPattern::parse("1d:1w:4w"), t, at(2026, 11, 23, 12), names);
    CHECK(d[0].keep);
    CHECK(d[1].keep);
    CHECK(d[1].reason == "oldest in bucket 2026-11-21 (1d) of band 1d-1w");
    CHECK_FALSE(d[2].keep);
    CHECK(d[2].reason == "bucket 2026-11-21 (1d) of band 1d-1w already keeps v@2");
}

TEST_CASE("retention: weeks start on Monday, years on January 1st", "[retention]")
{
    // Sunday 2026-11-29 and Monday 2026-11-30 are in two weeks.
    auto now = at(2026, 12, 20);
    auto k = keeps("1w:4w", {at(2026, 11, 29, 12), at(2026, 11, 30, 1), at(2026, 12, 19)}, now);
    CHECK(k == std::vector<bool>{true, true, true});
    // 2024-12-31 and 2025-01-01 are in two calendar years.
    auto y = keeps("1y:10y", {at(2024, 12, 31), at(2025, 1, 1), at(2025, 6, 1), at(2026, 12, 1)}, at(2027, 1, 5));
    CHECK(y == std::vector<bool>{true, true, false, true});
}

TEST_CASE("retention: pattern parsing and its errors", "[retention]")
{
    auto p = RetentionPattern::parse("1h:1d:1w:4w:1y");
    REQUIRE(p.durations.size() == 5);
    CHECK(p.durations[0].length == minutes(60));
    CHECK(p.durations[4].length == minutes(525600));
    CHECK(p.str() == "1h:1d:1w:4w:1y");
    CHECK(RetentionPattern::parse("90m:2h").durations[1].length == hours(2));

    struct Case {
        const char* pattern;
        const char* why;
    };
    for (auto c : {Case{"", "the pattern is empty"}, Case{"1d:1h", "'1h' is shorter than '1d' before it (not ascending)"},
                   Case{"2h:2h", "'2h' repeats '2h' (the same duration twice)"},
                   Case{"60m:1h", "'1h' repeats '60m'"}, Case{"1x", "'1x' has no unit among m, h, d, w, y"},
                   Case{"1h:", "component 2 is empty"}, Case{":1h", "component 1 is empty"},
                   Case{"h", "'h' does not start with a number"}, Case{"-1h", "'-1h' does not start with a number"},
                   Case{"1.5h", "'1.5h' does not start with a number"}, Case{"0h", "'0h' is zero"},
                   Case{"1H", "has no unit"}, Case{"99999999999999999999y", "is too long"},
                   Case{"20000y", "is too long"}}) {
        INFO(c.pattern);
        CHECK_THROWS_AS(RetentionPattern::parse(c.pattern), InvalidArgument);
        CHECK_THROWS_WITH(RetentionPattern::parse(c.pattern), Catch::Contains(c.why) && Catch::StartsWith("invalid purge pattern"));
    }
}
