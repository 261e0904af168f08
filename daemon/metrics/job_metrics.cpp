// SPDX-License-Identifier: Apache-2.0
// JobMetrics: seeded from the job records, moved by each JobReport, written as five families.
#include "metrics/job_metrics.hpp"

#include <chrono>
#include <vector>

namespace buttervolume::metrics {

namespace {

double seconds_since_epoch(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The kind of an action, its text before ':' ("replicate" of "replicate:a,b"): the label of the
// run counter, whose cardinality must not grow with hosts and patterns.
std::string kind_of(const std::string& action)
{
    return action.substr(0, action.find(':'));
}

constexpr const char* kinds[] = {"snapshot", "replicate", "purge", "synchronize", "snapshot+purge"};
constexpr const char* results[] = {"ok", "unchanged", "failed"};

} // namespace

void JobMetrics::seed(const std::map<std::string, JobRecord>& records)
{
    std::lock_guard lock(mutex_);
    for (const char* k : kinds)
        for (const char* r : results)
            runs_[{k, r}];
    for (const auto& [key, record] : records) {
        // The key is "<volume>,<action>"; a volume name never holds a comma.
        auto comma = key.find(',');
        if (comma == std::string::npos)
            continue;
        Pair job{key.substr(0, comma), key.substr(comma + 1)};
        failures_[job] = record.failures;
        if (!record.last_run)
            continue;
        last_success_[job] = seconds_since_epoch(*record.last_run);
        std::vector<std::string> warnings;
        try {
            JobAction action = JobAction::parse_lenient(job.second, warnings);
            // A replicate job succeeds only when every host got the snapshot.
            if (action.kind == JobKind::Replicate)
                for (const auto& host : action.hosts)
                    replicated_[{job.first, host}] = seconds_since_epoch(*record.last_run);
        } catch (const std::exception&) {
            // A record of an action this version cannot read: its job's own gauges suffice.
        }
    }
}

void JobMetrics::record(const JobReport& report)
{
    const std::string action = report.job.action.str();
    const Pair job{report.job.volume, action};
    const double ended = seconds_since_epoch(report.ended);
    std::lock_guard lock(mutex_);
    ++runs_[{kind_of(action), std::string(job_result_name(report.result))}];
    if (report.result == JobResult::Failed) {
        ++failures_[job];
    } else {
        failures_[job] = 0;
        last_success_[job] = ended;
    }
    for (const auto& t : report.transfers) {
        bytes_[t.host] += t.bytes;
        if (t.ok)
            replicated_[{report.job.volume, t.host}] = ended;
    }
}

void JobMetrics::write(Exposition& out) const
{
    std::lock_guard lock(mutex_);
    out.family("buttervolume_job_runs_total", "counter",
               "Scheduled job runs since the daemon started, by action kind and result (ok, unchanged, failed).");
    for (const auto& [key, n] : runs_)
        out.sample("buttervolume_job_runs_total", {{"action", key.first}, {"result", key.second}}, double(n));
    out.family("buttervolume_job_last_success_timestamp_seconds", "gauge",
               "When each scheduled job last succeeded (Unix time), kept across restarts.");
    for (const auto& [key, t] : last_success_)
        out.sample("buttervolume_job_last_success_timestamp_seconds", {{"volume", key.first}, {"action", key.second}},
                   t);
    out.family("buttervolume_job_consecutive_failures", "gauge",
               "Failures of each scheduled job since its last success (0 when its last run succeeded).");
    for (const auto& [key, n] : failures_)
        out.sample("buttervolume_job_consecutive_failures", {{"volume", key.first}, {"action", key.second}},
                   double(n));
    out.family("buttervolume_replication_bytes_total", "counter",
               "Send stream bytes written to each replication host by scheduled jobs since the daemon started.");
    for (const auto& [host, n] : bytes_)
        out.sample("buttervolume_replication_bytes_total", {{"host", host}}, double(n));
    out.family("buttervolume_replication_last_success_timestamp_seconds", "gauge",
               "When a snapshot of each volume last reached each host (Unix time), kept across restarts.");
    for (const auto& [key, t] : replicated_)
        out.sample("buttervolume_replication_last_success_timestamp_seconds", {{"volume", key.first}, {"host", key.second}},
                   t);
}

} // namespace buttervolume::metrics
