// SPDX-License-Identifier: Apache-2.0
// A program outside the project, built only with `pkg-config --cflags --libs libbuttervolume`.
#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/options.hpp>
#include <buttervolume/version.hpp>

#include <cstdio>

int main()
{
    try {
        buttervolume::check_volume_name("../etc");
        return 1;
    } catch (const buttervolume::InvalidArgument& e) {
        std::printf("libbuttervolume %s: %s\n", BUTTERVOLUME_VERSION, e.what());
    }
    return buttervolume::parse_size("1G") == (1ULL << 30) ? 0 : 1;
}
