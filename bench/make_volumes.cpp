// SPDX-License-Identifier: Apache-2.0
// bench helper: creates N volumes named v00000... in a pool through libbuttervolume, timing it.
#include <buttervolume/pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s ROOT COUNT [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    buttervolume::Pool pool{std::filesystem::path(argv[1])};
    long count = std::strtol(argv[2], nullptr, 10);
    std::vector<std::string> pairs(argv + 3, argv + argc);
    auto opts = buttervolume::VolumeOptions::parse_pairs(pairs);
    auto start = std::chrono::steady_clock::now();
    char name[32];
    for (long i = 0; i < count; ++i) {
        std::snprintf(name, sizeof name, "v%05ld", i);
        pool.create_volume(name, opts);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("created %ld volumes in %.2f s (%.2f ms each)\n", count, secs, count ? secs * 1000 / count : 0.0);
    return 0;
}
