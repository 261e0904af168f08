// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: reader + receiver applying arbitrary streams into a scratch directory on
// btrfs ($BV_FUZZ_DEST, needs root). After each input the directory must hold nothing but
// complete, read-only received subvolumes, which are then removed.
#include <buttervolume/error.hpp>
#include <buttervolume/receive.hpp>

#include <btrfsutil.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>

namespace fs = std::filesystem;

namespace buttervolume::stream {
extern bool fuzz_skip_crc; // lib/stream/reader.cpp, in -DBV_FUZZING builds only
}

static fs::path dest;

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    const char* d = std::getenv("BV_FUZZ_DEST");
    if (!d) {
        std::fprintf(stderr, "fuzz_receive: set BV_FUZZ_DEST to an empty directory on btrfs\n");
        std::abort();
    }
    dest = d;
    // Mutated inputs rarely keep a valid CRC; the receiver behind the check is the target here.
    buttervolume::stream::fuzz_skip_crc = true;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace buttervolume;
    try {
        stream::StreamReader reader(std::span<const std::uint8_t>(data, size));
        receive_stream(reader, dest);
    } catch (const Error&) {
    }
    for (const auto& e : fs::directory_iterator(dest)) {
        bool ro = false;
        if (btrfs_util_get_subvolume_read_only(e.path().c_str(), &ro) != BTRFS_UTIL_OK || !ro ||
            e.path().filename().native().starts_with(".")) {
            std::fprintf(stderr, "fuzz_receive: partial result left behind: %s\n", e.path().c_str());
            std::abort();
        }
        btrfs_util_delete_subvolume(e.path().c_str(), 0);
    }
    return 0;
}
