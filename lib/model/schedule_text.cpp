// SPDX-License-Identifier: Apache-2.0
// The schedule file's text: CSV lines "Name,Action,Timer,Active" as the Python plugin reads and writes them.
#include "base/text.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/schedule.hpp>

#include <fmt/format.h>

#include <charconv>
#include <unordered_map>

namespace buttervolume {

namespace {

// Python's csv module: a field is quoted when it holds a comma, a quote or a line break, and a
// quote inside is doubled. Returns nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line)
{
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                fields.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                fields.back() += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    if (quoted)
        return std::nullopt;
    return fields;
}

std::string csv_field(const std::string& f)
{
    if (f.find_first_of(",\"\r\n") == std::string::npos)
        return f;
    std::string out = "\"";
    for (char c : f) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

ScheduledJob parse_job(const std::vector<std::string>& f, std::vector<std::string>& warnings)
{
    if (f.size() != 3 && f.size() != 4)
        throw InvalidArgument(fmt::format("{} columns, expected Name,Action,Timer[,Active]", f.size()));
    ScheduledJob job;
    job.volume = std::string(trim_space(f[0]));
    check_volume_name(job.volume);
    job.action = JobAction::parse_lenient(trim_space(f[1]), warnings);
    job.timer = parse_schedule_timer(trim_space(f[2]));
    if (f.size() == 4) {
        std::string_view a = trim_space(f[3]);
        if (a == "True" || a == "true" || a == "1")
            job.active = true;
        else if (a == "False" || a == "false" || a == "0")
            job.active = false;
        else
            throw InvalidArgument(fmt::format("invalid Active '{}': True or False", a));
    }
    return job;
}

} // namespace

std::chrono::minutes parse_schedule_timer(std::string_view text)
{
    // A hundred years at most: next_run must not overflow the clock.
    unsigned long value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || value == 0 || value > 52'560'000)
        throw InvalidArgument(
            fmt::format("invalid timer '{}': minutes between runs, a positive integer up to 52560000", text));
    return std::chrono::minutes(value);
}

const ScheduledJob* Schedule::find(std::string_view volume, const JobAction& action) const
{
    const std::string a = action.str();
    for (const auto& j : jobs)
        if (j.volume == volume && j.action.str() == a)
            return &j;
    return nullptr;
}

Schedule parse_schedule(std::string_view text)
{
    Schedule s;
    // Each job's index in s.jobs by key, so that a job listed again is found in constant time
    // (a scan of the jobs read so far made 30,000 lines take 20 s); the lines a later one
    // replaced are dropped in one pass at the end.
    std::unordered_map<std::string, std::size_t> index;
    std::vector<bool> replaced;
    std::size_t number = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++number;
        if (trim_space(line).empty())
            continue;
        try {
            auto fields = split_csv_line(trim_space(line));
            if (!fields)
                throw InvalidArgument("unterminated quote");
            ScheduledJob job = parse_job(*fields, s.warnings);
            // The Python plugin replaces a job with the same (volume, action); a file edited by
            // hand may still hold both: the later line wins, as it would there.
            auto [it, added] = index.try_emplace(job.key(), s.jobs.size());
            if (!added) {
                s.warnings.push_back(fmt::format("line {}: job {} ({}) listed again; this line wins", number,
                                                 job.volume, job.action.str()));
                replaced[it->second] = true;
                it->second = s.jobs.size();
            }
            s.jobs.push_back(std::move(job));
            replaced.push_back(false);
        } catch (const InvalidArgument& e) {
            s.invalid.push_back({number, std::string(trim_space(line)), e.what()});
        }
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < s.jobs.size(); ++i)
        if (!replaced[i]) {
            if (kept != i)
                s.jobs[kept] = std::move(s.jobs[i]);
            ++kept;
        }
    s.jobs.resize(kept);
    return s;
}

std::string format_schedule(const Schedule& schedule)
{
    std::string out;
    for (const auto& j : schedule.jobs)
        out += fmt::format("{},{},{},{}\n", csv_field(j.volume), csv_field(j.action.str()), j.timer.count(),
                           j.active ? "True" : "False");
    for (const auto& bad : schedule.invalid)
        out += bad.text + "\n";
    return out;
}

} // namespace buttervolume
