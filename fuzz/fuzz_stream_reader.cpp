// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the send stream reader and the dump listing on arbitrary bytes.
#include <buttervolume/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace buttervolume;
    try {
        stream::StreamReader reader(std::span<const std::uint8_t>(data, size));
        // The listing reads every attribute of every known command with its typed getter.
        std::size_t lines = 0;
        stream::dump_stream(reader, [&](std::string_view l) { lines += l.size(); });
    } catch (const StreamError&) {
        // Refusing bad input is the expected outcome; crashes, leaks and UB are not.
    }
    return 0;
}
