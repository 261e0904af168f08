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

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s ROOT [--per-volume] [ROUNDS]\n", argv[0]);
        return 2;
    }
    bool per_volume = argc > 2 && std::strcmp(argv[2], "--per-volume") == 0;
    int rounds = argc > 2 + per_volume ? std::atoi(argv[2 + per_volume]) : 200;
    buttervolume::Pool pool{std::filesystem::path(argv[1])};
    buttervolume::metrics::Metrics metrics(pool, {.per_volume = per_volume, .endpoints = buttervolume::plugin::endpoints()});
    using Clock = std::chrono::steady_clock;
    auto time_one = [&](std::size_t& bytes) {
        auto start = Clock::now();
        bytes = metrics.scrape().size();
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    };
    std::size_t bytes = 0;
    double first = time_one(bytes); // every folder read: the cost after a create or remove
    std::vector<double> ms;
    for (int i = 0; i < rounds; ++i)
        ms.push_back(time_one(bytes));
    std::sort(ms.begin(), ms.end());
    // What a scheduled snapshot job leaves: snapshots/ changed, volumes/ not. The snapshot is
    // removed again, so a second run of the bench finds the pool as it was.
    std::string volume = pool.volumes().front().name;
    auto taken = pool.snapshot(volume);
    double after_snapshot = time_one(bytes);
    pool.remove_snapshot(taken.name);
    auto stats = pool.statistics();
    std::printf("%zu volumes, %zu snapshots%s: first scrape %.3f ms; then median %.3f ms, p90 %.3f ms, max %.3f ms "
                "of %d (%zu bytes); right after a new snapshot %.3f ms\n",
                stats.volumes, stats.snapshots, per_volume ? ", per-volume" : "", first, ms[ms.size() / 2],
                ms[ms.size() * 9 / 10], ms.back(), rounds, bytes, after_snapshot);
    return 0;
}
