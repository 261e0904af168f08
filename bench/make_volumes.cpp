// SPDX-License-Identifier: Apache-2.0
// bench helper: creates N volumes named v00000... in a pool through libbuttervolume, timing it;
// --snapshot also takes one snapshot of each, as a daily snapshot job leaves them.
#include <buttervolume/pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s ROOT COUNT [--snapshot] [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    buttervolume::Pool pool{std::filesystem::path(argv[1])};
    long count = std::strtol(argv[2], nullptr, 10);
    bool snapshot = argc > 3 && std::string_view(argv[3]) == "--snapshot";
    std::vector<std::string> pairs(argv + 3 + snapshot, argv + argc);
    auto opts = buttervolume::VolumeOptions::parse_pairs(pairs);
    auto start = std::chrono::steady_clock::now();
    char name[32];
    for (long i = 0; i < count; ++i) {
        std::snprintf(name, sizeof name, "v%05ld", i);
        pool.create_volume(name, opts);
        if (snapshot)
            pool.snapshot(name);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("created %ld volumes%s in %.2f s (%.2f ms each)\n", count, snapshot ? " with a snapshot each" : "",
                secs, count ? secs * 1000 / count : 0.0);
    return 0;
}
