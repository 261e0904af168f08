// SPDX-License-Identifier: Apache-2.0
// bench helper: times snapshots of several volumes through libbuttervolume, in-process (process
// start-up does not hide the snapshot itself) and round-robin (so machine load hits every volume
// alike), each one isolated, then deletes them. Prints the median, min and max per volume.
#include <buttervolume/pool.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// sync(2) commits btrfs' transaction and writes back what the previous snapshot left dirty, and
// the pause lets the disk go idle: no snapshot is timed while paying for the one before.
void settle()
{
    ::sync();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s ROOT COUNT VOLUME...\n", argv[0]);
        return 2;
    }
    buttervolume::Pool pool{std::filesystem::path(argv[1])};
    long count = std::strtol(argv[2], nullptr, 10);
    std::vector<std::string> volumes(argv + 3, argv + argc);
    std::vector<std::vector<double>> ms(volumes.size());
    std::vector<std::string> names;
    for (long i = 0; i < count; ++i) {
        for (std::size_t v = 0; v < volumes.size(); ++v) {
            settle();
            auto start = std::chrono::steady_clock::now();
            names.push_back(pool.snapshot(volumes[v]).name);
            ms[v].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        }
    }
    for (const auto& n : names)
        pool.remove_snapshot(n);
    for (std::size_t v = 0; v < volumes.size(); ++v) {
        auto& m = ms[v];
        std::sort(m.begin(), m.end());
        std::printf("%-10s %ld snapshots: median %6.2f ms, min %6.2f ms, max %6.2f ms\n", volumes[v].c_str(), count,
                    m[m.size() / 2], m.front(), m.back());
    }
    return 0;
}
