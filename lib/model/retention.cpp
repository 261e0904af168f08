// SPDX-License-Identifier: Apache-2.0
// Retention patterns and the purge decision: a pure function of snapshot times and "now".
#include <buttervolume/error.hpp>
#include <buttervolume/retention.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <numeric>
#include <optional>

namespace buttervolume {

namespace {

using Clock = std::chrono::system_clock;
using std::chrono::minutes;

std::int64_t minutes_per_unit(char unit)
{
    switch (unit) {
    case 'm': return 1;
    case 'h': return 60;
    case 'd': return 60 * 24;
    case 'w': return 60 * 24 * 7;
    case 'y': return 60 * 24 * 365;
    default: return 0;
    }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b)
{
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// 1970-01-05 was a Monday: weeks start there, as on the calendar (ISO weeks), not on the
// Thursday the epoch fell on.
constexpr std::int64_t monday_offset_minutes = 4 * 24 * 60;

// A bucket of width d that holds t: aligned on the UTC calendar so that it never moves
// between runs (the Python project aligned buckets on "now", so survivors changed every run).
struct Bucket {
    std::int64_t key;
    Clock::time_point start;
};

Bucket bucket_of(const RetentionDuration& d, Clock::time_point t)
{
    std::int64_t min = std::chrono::floor<minutes>(t.time_since_epoch()).count();
    std::int64_t width = d.length.count();
    if (d.unit == 'y') {
        // Calendar years: N-year buckets counted from 1970.
        auto days = std::chrono::floor<std::chrono::days>(t);
        int year = static_cast<int>(std::chrono::year_month_day(days).year());
        std::int64_t key = floor_div(year - 1970, static_cast<std::int64_t>(d.count));
        int first = static_cast<int>(1970 + key * static_cast<std::int64_t>(d.count));
        auto start = std::chrono::sys_days(std::chrono::year(first) / 1 / 1);
        return {key, Clock::time_point(start)};
    }
    std::int64_t offset = d.unit == 'w' ? monday_offset_minutes : 0;
    std::int64_t key = floor_div(min - offset, width);
    return {key, Clock::time_point(minutes(key * width + offset))};
}

std::string bucket_label(const RetentionDuration& d, Clock::time_point start)
{
    // fmt 9 formats a system_clock time_point in local time; buckets are UTC.
    std::tm s = fmt::gmtime(Clock::to_time_t(start));
    switch (d.unit) {
    case 'm': return fmt::format("{:%Y-%m-%dT%H:%M}", s);
    case 'h': return fmt::format("{:%Y-%m-%dT%H:00}", s);
    case 'y': return fmt::format("{:%Y}", s);
    default: return fmt::format("{:%Y-%m-%d}", s);
    }
}

} // namespace

std::string RetentionDuration::str() const
{
    return fmt::format("{}{}", count, unit);
}

std::string RetentionPattern::str() const
{
    std::vector<std::string> parts;
    for (const auto& d : durations)
        parts.push_back(d.str());
    return fmt::format("{}", fmt::join(parts, ":"));
}

RetentionPattern RetentionPattern::parse(std::string_view text)
{
    auto fail = [&](const std::string& why) -> InvalidArgument {
        return InvalidArgument(fmt::format("invalid purge pattern '{}': {} (expected N{{m,h,d,w,y}}[:N{{unit}}...] "
                                           "in ascending order, e.g. 1h:1d:1w:4w:1y)",
                                           text.substr(0, 100), why));
    };
    if (text.empty())
        throw fail("the pattern is empty");
    RetentionPattern p;
    std::size_t pos = 0;
    while (true) {
        std::size_t colon = text.find(':', pos);
        std::string_view part = text.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
        if (part.empty())
            throw fail(fmt::format("component {} is empty", p.durations.size() + 1));
        char unit = part.back();
        std::string_view digits = part.substr(0, part.size() - 1);
        if (minutes_per_unit(unit) == 0)
            throw fail(fmt::format("'{}' has no unit among m, h, d, w, y", part));
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec == std::errc::result_out_of_range)
            throw fail(fmt::format("'{}' is too long", part));
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
            throw fail(fmt::format("'{}' does not start with a number", part));
        // Beyond ~10,000 years the minute count would overflow in arithmetic on time points.
        if (n == 0 || n > 10000ULL * 525600 / static_cast<std::uint64_t>(minutes_per_unit(unit)))
            throw fail(fmt::format("'{}' is {}", part, n == 0 ? "zero" : "too long"));
        RetentionDuration d{minutes(static_cast<std::int64_t>(n) * minutes_per_unit(unit)), n, unit};
        if (!p.durations.empty()) {
            const auto& prev = p.durations.back();
            if (d.length == prev.length)
                throw fail(fmt::format("'{}' repeats '{}' (the same duration twice)", d.str(), prev.str()));
            if (d.length < prev.length)
                throw fail(fmt::format("'{}' is shorter than '{}' before it (not ascending)", d.str(), prev.str()));
        }
        p.durations.push_back(d);
        if (colon == std::string_view::npos)
            break;
        pos = colon + 1;
    }
    return p;
}

std::vector<RetentionDecision> decide_retention(const RetentionPattern& pattern,
                                                const std::vector<Clock::time_point>& times, Clock::time_point now,
                                                const std::vector<std::string>& names)
{
    if (!names.empty() && names.size() != times.size())
        throw InvalidArgument(fmt::format("decide_retention: {} names for {} times", names.size(), times.size()));
    if (pattern.durations.empty())
        throw InvalidArgument("decide_retention: empty retention pattern");
    const auto& D = pattern.durations;
    std::vector<RetentionDecision> out(times.size());
    if (times.empty())
        return out;
    auto name_of = [&](std::size_t i) { return names.empty() ? fmt::format("#{}", i) : names[i]; };

    // Oldest first, ties broken by name, so "the oldest of a bucket" is well defined.
    std::vector<std::size_t> order(times.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (times[a] != times[b])
            return times[a] < times[b];
        return !names.empty() && names[a] < names[b];
    });
    const std::size_t newest = order.back();

    // (band, bucket) -> the snapshot kept for it.
    std::map<std::pair<std::size_t, std::int64_t>, std::size_t> kept;
    for (std::size_t i : order) {
        auto age = now - times[i];
        auto& d = out[i];
        if (i == newest) {
            d = {true, "newest snapshot"};
            continue;
        }
        if (age < D.front().length) {
            d = {true, fmt::format("younger than {}", D.front().str())};
            continue;
        }
        if (age > D.back().length || D.size() == 1) {
            // With one component there are no bands: older than it means deleted.
            d = {false, fmt::format("older than {}", D.back().str())};
            continue;
        }
        std::size_t band = 0;
        while (band + 2 < D.size() && age >= D[band + 1].length)
            ++band;
        Bucket b = bucket_of(D[band], times[i]);
        std::string where = fmt::format("bucket {} ({}) of band {}-{}", bucket_label(D[band], b.start), D[band].str(),
                                        D[band].str(), D[band + 1].str());
        auto [it, first] = kept.emplace(std::pair{band, b.key}, i);
        if (first)
            d = {true, fmt::format("oldest in {}", where)};
        else
            d = {false, fmt::format("{} already keeps {}", where, name_of(it->second))};
    }
    return out;
}

} // namespace buttervolume
