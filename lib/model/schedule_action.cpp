// SPDX-License-Identifier: Apache-2.0
// JobAction: the ACTION column of the schedule file, parsed strictly (CLI) or leniently (old files).
#include "model/host_spec.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/schedule.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

namespace buttervolume {

namespace {

constexpr std::string_view valid_actions =
    "snapshot, replicate:HOST[,HOST...], purge:PATTERN, synchronize:HOST[,HOST...], snapshot+purge:PATTERN";

std::vector<std::string> parse_hosts(std::string_view action, std::string_view list)
{
    std::vector<std::string> hosts;
    if (list.empty())
        throw InvalidArgument(fmt::format("invalid action '{}': no HOST after ':'", action));
    std::size_t start = 0;
    for (;;) {
        std::size_t comma = list.find(',', start);
        std::string_view host = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
        // The rule Remote::parse applies when the job runs: what is accepted here can run.
        try {
            parse_host_spec(host);
        } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("invalid action '{}': {}", action, e.what()));
        }
        if (std::find(hosts.begin(), hosts.end(), host) == hosts.end())
            hosts.emplace_back(host);
        if (comma == std::string_view::npos)
            break;
        start = comma + 1;
    }
    return hosts;
}

// Python's old patterns: anybox sorted the components and allowed duplicates ("2h:2h");
// 3.13's scheduler reads them as the pattern without duplicates, with a warning.
RetentionPattern repair_pattern(std::string_view action, std::string_view text, std::vector<std::string>& warnings)
{
    std::vector<RetentionDuration> parts;
    std::size_t start = 0;
    for (;;) {
        std::size_t colon = text.find(':', start);
        std::string_view one = text.substr(start, colon == std::string_view::npos ? text.npos : colon - start);
        RetentionPattern single;
        try {
            single = RetentionPattern::parse(one);
        } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("invalid action '{}': {}", action, e.what()));
        }
        parts.push_back(single.durations.front());
        if (colon == std::string_view::npos)
            break;
        start = colon + 1;
    }
    std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.length < b.length; });
    parts.erase(std::unique(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.length == b.length; }),
                parts.end());
    RetentionPattern repaired;
    repaired.durations = parts;
    if (repaired.str() != text)
        warnings.push_back(fmt::format("action '{}': pattern '{}' read as '{}' (components must be ascending, without "
                                       "duplicates)",
                                       action, text, repaired.str()));
    return RetentionPattern::parse(repaired.str());
}

JobAction parse_action(std::string_view text, std::vector<std::string>* warnings)
{
    JobAction a;
    auto colon = text.find(':');
    std::string_view verb = text.substr(0, colon);
    std::string_view arg = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    bool has_arg = colon != std::string_view::npos;
    auto pattern = [&] {
        if (arg.empty())
            throw InvalidArgument(fmt::format("invalid action '{}': no PATTERN after ':' (e.g. purge:1h:1d:1w)", text));
        if (warnings)
            return repair_pattern(text, arg, *warnings);
        try {
            return RetentionPattern::parse(arg);
        } catch (const InvalidArgument& e) {
            throw InvalidArgument(fmt::format("invalid action '{}': {}", text, e.what()));
        }
    };
    if (verb == "snapshot" && !has_arg) {
        a.kind = JobKind::Snapshot;
    } else if (verb == "replicate" && has_arg) {
        a.kind = JobKind::Replicate;
        a.hosts = parse_hosts(text, arg);
    } else if (verb == "synchronize" && has_arg) {
        a.kind = JobKind::Synchronize;
        a.hosts = parse_hosts(text, arg);
    } else if (verb == "purge" && has_arg) {
        a.kind = JobKind::Purge;
        a.pattern = pattern();
    } else if (verb == "snapshot+purge" && has_arg) {
        a.kind = JobKind::SnapshotPurge;
        a.pattern = pattern();
    } else if (verb == "snapshot") {
        throw InvalidArgument(fmt::format("invalid action '{}': snapshot takes no argument", text));
    } else if (verb == "replicate" || verb == "synchronize" || verb == "purge" || verb == "snapshot+purge") {
        throw InvalidArgument(fmt::format("invalid action '{}': {} needs ':{}'", text, verb,
                                          verb == "replicate" || verb == "synchronize" ? "HOST" : "PATTERN"));
    } else {
        throw InvalidArgument(fmt::format("invalid action '{}': unknown action (valid: {})", text, valid_actions));
    }
    return a;
}

std::string join_hosts(const std::vector<std::string>& hosts)
{
    return fmt::format("{}", fmt::join(hosts, ","));
}

} // namespace

JobAction JobAction::parse(std::string_view text)
{
    return parse_action(text, nullptr);
}

JobAction JobAction::parse_lenient(std::string_view text, std::vector<std::string>& warnings)
{
    return parse_action(text, &warnings);
}

std::string JobAction::str() const
{
    switch (kind) {
    case JobKind::Snapshot:
        return "snapshot";
    case JobKind::Replicate:
        return "replicate:" + join_hosts(hosts);
    case JobKind::Synchronize:
        return "synchronize:" + join_hosts(hosts);
    case JobKind::Purge:
        return "purge:" + pattern.str();
    case JobKind::SnapshotPurge:
        return "snapshot+purge:" + pattern.str();
    }
    return {};
}

} // namespace buttervolume
