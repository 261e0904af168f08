// SPDX-License-Identifier: Apache-2.0
// When scheduled jobs are due: first tick, timers, a week's gap, clock steps, failures and retries.
#include "../catch.hpp"

#include <buttervolume/schedule.hpp>

using namespace buttervolume;
using namespace std::chrono;
using Clock = system_clock;

namespace {

const Clock::time_point t0 = Clock::time_point(sys_days(year(2026) / 12 / 1).time_since_epoch()) + hours(8);

// Runs a job ticking every `tick` from `from` to `to`, each attempt ending with results(i);
// returns the times it was attempted.
std::vector<Clock::time_point> simulate(JobRecord& r, minutes timer, Clock::time_point from, Clock::time_point to,
                                        seconds tick, const std::function<JobResult(std::size_t)>& results)
{
    std::vector<Clock::time_point> attempts;
    for (auto now = from; now <= to; now += tick) {
        r = rebase_on_clock(r, now);
        if (is_due(r, timer, now)) {
            r = record_attempt(r, now, results(attempts.size()), "");
            attempts.push_back(now);
        }
    }
    return attempts;
}

JobResult always_ok(std::size_t)
{
    return JobResult::Ok;
}

} // namespace

TEST_CASE("schedule due: a job never run runs at the first tick", "[schedule]")
{
    JobRecord never;
    CHECK(is_due(never, minutes(10080), t0));
}

TEST_CASE("schedule due: a job is due at last run + timer, not a second before", "[schedule]")
{
    JobRecord r = record_attempt({}, t0, JobResult::Ok, "");
    CHECK_FALSE(is_due(r, minutes(60), t0 + minutes(59) + seconds(59)));
    CHECK(is_due(r, minutes(60), t0 + minutes(60)));
    CHECK(next_run(r, minutes(60)) == t0 + minutes(60));
}

TEST_CASE("schedule due: an hourly job over a day ticking every minute runs 24 times", "[schedule]")
{
    JobRecord r;
    auto runs = simulate(r, minutes(60), t0, t0 + hours(24) - seconds(1), seconds(60), always_ok);
    REQUIRE(runs.size() == 24);
    for (std::size_t i = 1; i < runs.size(); ++i)
        CHECK(runs[i] - runs[i - 1] == minutes(60));
}

TEST_CASE("schedule due: after a week's gap each job runs once, then on its timer", "[schedule]")
{
    JobRecord hourly = record_attempt({}, t0, JobResult::Ok, "");
    JobRecord weekly = record_attempt({}, t0, JobResult::Ok, "");
    const auto back = t0 + days(7) + hours(3);
    auto h = simulate(hourly, minutes(60), back, back + minutes(59), seconds(60), always_ok);
    auto w = simulate(weekly, minutes(10080), back, back + minutes(59), seconds(60), always_ok);
    CHECK(h == std::vector{back});
    CHECK(w == std::vector{back});
    CHECK(next_run(hourly, minutes(60)) == back + minutes(60));
}

TEST_CASE("schedule due: a weekly job on a host restarted daily still runs weekly", "[schedule]")
{
    // Python kept last runs in memory: a weekly job never ran on a host restarted every day.
    // The record is what survives a restart here; each "day" starts from it.
    JobRecord r;
    std::size_t runs = 0;
    for (int day = 0; day < 21; ++day)
        runs += simulate(r, minutes(10080), t0 + days(day), t0 + days(day) + hours(23), seconds(60), always_ok).size();
    CHECK(runs == 3);
}

TEST_CASE("schedule due: a clock stepped back runs nothing twice and does not wait for the old time", "[schedule]")
{
    JobRecord r = record_attempt({}, t0, JobResult::Ok, "");
    const auto back = t0 - days(365);
    CHECK_FALSE(is_due(r, minutes(60), back));
    JobRecord rebased = rebase_on_clock(r, back);
    CHECK(rebased.last_run == back);
    CHECK(next_run(rebased, minutes(60)) == back + minutes(60));
    auto runs = simulate(r, minutes(60), back, back + minutes(61), seconds(60), always_ok);
    CHECK(runs == std::vector{back + minutes(60)});
}

TEST_CASE("schedule due: a failure is not a run, retries grow from a minute and stop at the timer", "[schedule]")
{
    CHECK(retry_delay(1, minutes(60)) == minutes(1));
    CHECK(retry_delay(2, minutes(60)) == minutes(2));
    CHECK(retry_delay(4, minutes(60)) == minutes(8));
    CHECK(retry_delay(7, minutes(60)) == minutes(60));
    CHECK(retry_delay(4000000000u, minutes(60)) == minutes(60));

    JobRecord r = record_attempt({}, t0, JobResult::Ok, "");
    r = record_attempt(r, t0 + minutes(60), JobResult::Failed, "ssh: connect to host b port 22: Connection refused");
    CHECK(r.last_run == t0);
    CHECK(r.failures == 1);
    CHECK(r.last_message.find("Connection refused") != std::string::npos);
    CHECK_FALSE(is_due(r, minutes(60), t0 + minutes(60) + seconds(59)));
    CHECK(is_due(r, minutes(60), t0 + minutes(61)));
}

TEST_CASE("schedule due: a host down for hours is tried with growing gaps, then the job is back on its timer", "[schedule]")
{
    JobRecord r;
    // Fails for the first 8 attempts, then succeeds.
    auto attempts = simulate(r, minutes(60), t0, t0 + hours(6), seconds(60),
                             [](std::size_t i) { return i < 8 ? JobResult::Failed : JobResult::Ok; });
    REQUIRE(attempts.size() >= 10);
    std::vector<minutes> gaps;
    for (std::size_t i = 1; i < 10; ++i)
        gaps.push_back(duration_cast<minutes>(attempts[i] - attempts[i - 1]));
    CHECK(gaps == std::vector<minutes>{minutes(1), minutes(2), minutes(4), minutes(8), minutes(16), minutes(32),
                                       minutes(60), minutes(60), minutes(60)});
    CHECK(r.failures == 0);
    CHECK(r.last_result == JobResult::Ok);
}

TEST_CASE("schedule due: an unchanged volume's snapshot counts as a run", "[schedule]")
{
    JobRecord r = record_attempt({}, t0, JobResult::Unchanged, "unchanged since db@...");
    CHECK(r.last_run == t0);
    CHECK_FALSE(is_due(r, minutes(60), t0 + minutes(30)));
}
