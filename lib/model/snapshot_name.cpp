// SPDX-License-Identifier: Apache-2.0
// Snapshot names "<volume>@<timestamp>": strict parsing (before any syscall), formatting, time zones.
#include "model/snapshot_time.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/snapshot.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <ctime>

namespace buttervolume {

namespace {

using Clock = std::chrono::system_clock;

// Why ts is not "YYYY-MM-DDTHH:MM:SS.ffffff", or empty when it is; fills utc.
std::string timestamp_problem(std::string_view ts, Clock::time_point& utc)
{
    static constexpr std::string_view shape = "0000-00-00T00:00:00.000000";
    if (ts.size() != shape.size())
        return "the timestamp is not YYYY-MM-DDTHH:MM:SS.ffffff";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        bool digit = ts[i] >= '0' && ts[i] <= '9';
        if (shape[i] == '0' ? !digit : ts[i] != shape[i])
            return "the timestamp is not YYYY-MM-DDTHH:MM:SS.ffffff";
    }
    auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i)
            v = v * 10 + (ts[i] - '0');
        return v;
    };
    std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)), std::chrono::month(static_cast<unsigned>(num(5, 2))),
                                    std::chrono::day(static_cast<unsigned>(num(8, 2)))};
    int h = num(11, 2), m = num(14, 2), s = num(17, 2), us = num(20, 6);
    if (!ymd.ok() || h > 23 || m > 59 || s > 59)
        return "the timestamp is not a valid date and time";
    utc = Clock::time_point(std::chrono::sys_days(ymd).time_since_epoch() + std::chrono::hours(h) +
                            std::chrono::minutes(m) + std::chrono::seconds(s) + std::chrono::microseconds(us));
    return {};
}

// Why name is not a snapshot name, or empty; fills volume (a view into name) and utc.
std::string snapshot_name_problem(std::string_view name, std::string_view& volume, Clock::time_point& utc)
{
    auto at = name.find('@');
    if (at == std::string_view::npos)
        return "it has no '@' between volume and timestamp";
    std::string_view v = name.substr(0, at);
    std::string_view ts = name.substr(at + 1);
    if (auto why = volume_name_problem(v))
        return fmt::format("its volume part is not a volume name ({})", *why);
    if (ts.find('@') != std::string_view::npos)
        return "it has more than one '@' (a replication trace, not a snapshot)";
    if (auto why = timestamp_problem(ts, utc); !why.empty())
        return why;
    volume = v;
    return {};
}

std::string snapshot_name_problem(std::string_view name, SnapshotName& out)
{
    std::string_view volume;
    Clock::time_point utc;
    std::string why = snapshot_name_problem(name, volume, utc);
    if (why.empty())
        out = SnapshotName{std::string(volume), std::string(name.substr(volume.size() + 1)), utc};
    return why;
}

std::string shown(std::string_view s)
{
    std::string out;
    for (unsigned char c : s.substr(0, 80))
        out += (c < 0x20 || c >= 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
    if (s.size() > 80)
        out += "...";
    return out;
}

} // namespace

std::optional<SnapshotName> parse_snapshot_name(std::string_view name)
{
    SnapshotName out;
    if (!snapshot_name_problem(name, out).empty())
        return std::nullopt;
    return out;
}

bool split_snapshot_name(std::string_view name, std::string_view& volume, Clock::time_point& utc)
{
    return snapshot_name_problem(name, volume, utc).empty();
}

SnapshotName check_snapshot_name(std::string_view name)
{
    SnapshotName out;
    if (auto why = snapshot_name_problem(name, out); !why.empty())
        throw InvalidArgument(fmt::format(
            "invalid snapshot name '{}': {} (expected <volume>@YYYY-MM-DDTHH:MM:SS.ffffff)", shown(name), why));
    return out;
}

std::string format_snapshot_timestamp(Clock::time_point t)
{
    auto us = std::chrono::floor<std::chrono::microseconds>(t);
    auto secs = std::chrono::floor<std::chrono::seconds>(us);
    // Through gmtime: fmt 9 would format a system_clock time_point in local time.
    return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}", fmt::gmtime(Clock::to_time_t(secs)), (us - secs).count());
}

Clock::time_point local_reading(Clock::time_point utc)
{
    auto secs = std::chrono::floor<std::chrono::seconds>(utc);
    auto frac = std::chrono::floor<std::chrono::microseconds>(utc) - secs;
    std::time_t t = Clock::to_time_t(secs);
    struct tm fields;
    ::gmtime_r(&t, &fields);
    fields.tm_isdst = -1;
    std::time_t local = std::mktime(&fields);
    return Clock::from_time_t(local) + frac;
}

TimestampZone read_snapshot_time(Clock::time_point utc, Clock::time_point local, Clock::time_point otime,
                                 std::chrono::seconds slack)
{
    // The name is stamped just before the snapshot is made, so otime comes a little after it;
    // one second of tolerance the other way covers the kernel's coarse clock.
    auto close_after = [&](Clock::time_point t) { return otime >= t - std::chrono::seconds(1) && otime <= t + slack; };
    if (utc != local && close_after(local) && !close_after(utc))
        return TimestampZone::Local;
    return TimestampZone::Utc;
}

} // namespace buttervolume
