// SPDX-License-Identifier: Apache-2.0
// JobRecords: the jobs' last runs, results and errors in state/schedule-runs, replaced atomically.
#include "base/dir.hpp"
#include "base/text.hpp"

#include <buttervolume/pool.hpp>
#include <buttervolume/schedule.hpp>
#include <buttervolume/snapshot.hpp>

#include <fmt/format.h>

#include <charconv>

namespace buttervolume {

namespace {

constexpr const char* file_name = "schedule-runs";
constexpr std::string_view header = "buttervolume schedule runs v1";

// One line per job, tab-separated: key, last run, last attempt, result, failures, message.
// Keys (a volume name and an action) hold no tab or line break; messages are escaped.
std::string escape(std::string_view s)
{
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string unescape(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            char n = s[++i];
            out += n == 't' ? '\t' : n == 'n' ? '\n' : n;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string time_text(const std::optional<std::chrono::system_clock::time_point>& t)
{
    return t ? format_snapshot_timestamp(*t) : "-";
}

std::optional<std::chrono::system_clock::time_point> parse_time(std::string_view s)
{
    if (s == "-")
        return std::nullopt;
    auto sn = parse_snapshot_name("t@" + std::string(s));
    if (!sn)
        throw std::invalid_argument("time");
    return sn->utc;
}

JobResult parse_result(std::string_view s)
{
    for (auto r : {JobResult::Ok, JobResult::Unchanged, JobResult::Failed})
        if (s == job_result_name(r))
            return r;
    return JobResult::None;
}

} // namespace

JobRecords::JobRecords(const PoolPaths& paths) : state_(paths.state)
{
    Dir::open(state_, true);
}

std::map<std::string, JobRecord> JobRecords::load() const
{
    std::string text;
    std::map<std::string, JobRecord> out;
    if (!Dir::open(state_).read_file(file_name, text) || !text.starts_with(header))
        return out;
    std::string_view rest(text);
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        auto f = split_tabs(line);
        if (f.size() != 6)
            continue;
        try {
            JobRecord r;
            r.last_run = parse_time(f[1]);
            r.last_attempt = parse_time(f[2]);
            r.last_result = parse_result(f[3]);
            std::from_chars(f[4].data(), f[4].data() + f[4].size(), r.failures);
            r.last_message = unescape(f[5]);
            out[std::string(f[0])] = std::move(r);
        } catch (const std::invalid_argument&) {
            // A line this version cannot read counts as never run: the job runs once more.
        }
    }
    return out;
}

void JobRecords::save(const std::map<std::string, JobRecord>& records) const
{
    std::string text = std::string(header) + "\n";
    for (const auto& [key, r] : records)
        text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", key, time_text(r.last_run), time_text(r.last_attempt),
                            job_result_name(r.last_result), r.failures, escape(r.last_message));
    Dir::open(state_).write_file(file_name, text);
}

} // namespace buttervolume
