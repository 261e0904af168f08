// SPDX-License-Identifier: Apache-2.0
// bench: the cost of one metrics scrape (Metrics::scrape, as GET /metrics runs it) on a pool.
#include "metrics/collector.hpp"
#include "plugin/request.hpp"

#include <buttervolume/pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double time_one(buttervolume::metrics::Metrics& metrics, std::size_t& bytes)
{
    auto start = Clock::now();
    bytes = metrics.scrape().size();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> ms)
{
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s ROOT [--per-volume] [ROUNDS]\n", argv[0]);
        return 2;
    }
    bool per_volume = argc > 2 && std::strcmp(argv[2], "--per-volume") == 0;
    int rounds = argc > 2 + per_volume ? std::atoi(argv[2 + per_volume]) : 200;
    const std::filesystem::path root(argv[1]);
    const buttervolume::metrics::MetricsOptions options{.per_volume = per_volume,
                                                        .endpoints = buttervolume::plugin::endpoints()};
    std::size_t bytes = 0;
    // The first scrape of a daemon reads every folder, as one after a create or remove does:
    // each round opens the pool anew, so nothing is cached.
    std::vector<double> first;
    for (int i = 0; i < std::max(rounds / 10, 5); ++i) {
        buttervolume::Pool fresh{root};
        buttervolume::metrics::Metrics metrics(fresh, options);
        first.push_back(time_one(metrics, bytes));
    }
    buttervolume::Pool pool{root};
    buttervolume::metrics::Metrics metrics(pool, options);
    time_one(metrics, bytes);
    std::vector<double> ms;
    for (int i = 0; i < rounds; ++i)
        ms.push_back(time_one(metrics, bytes));
    std::sort(ms.begin(), ms.end());
    // What a scheduled snapshot job leaves: snapshots/ changed, volumes/ not. The snapshot is
    // removed again, so a second run of the bench finds the pool as it was.
    std::string volume = pool.volumes().front().name;
    std::vector<double> after;
    for (int i = 0; i < 5; ++i) {
        auto taken = pool.snapshot(volume);
        after.push_back(time_one(metrics, bytes));
        pool.remove_snapshot(taken.name);
        time_one(metrics, bytes);
    }
    auto stats = pool.statistics();
    std::printf("%zu volumes, %zu snapshots%s: first scrape median %.3f ms (max %.3f of %zu); then median %.3f ms, "
                "p90 %.3f ms, max %.3f ms of %d (%zu bytes); right after a new snapshot median %.3f ms (of %zu)\n",
                stats.volumes, stats.snapshots, per_volume ? ", per-volume" : "", median(first),
                *std::max_element(first.begin(), first.end()), first.size(), ms[ms.size() / 2], ms[ms.size() * 9 / 10],
                ms.back(), rounds, bytes, median(after), after.size());
    return 0;
}
