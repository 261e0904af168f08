// SPDX-License-Identifier: Apache-2.0
// The state/snapshots/<volume> records: read and written whole, atomically.
#include "snapshot_state.hpp"

#include "sys.hpp"

#include <charconv>

namespace buttervolume {

UniqueFd open_snapshot_state(int state_fd, bool create)
{
    if (create)
        ensure_dir_at(state_fd, "snapshots", "state/snapshots", 0755);
    return try_open_dir_at(state_fd, "snapshots", "state/snapshots");
}

SnapshotRecord read_snapshot_record(int dirfd, std::string_view volume)
{
    SnapshotRecord rec;
    std::string text;
    if (dirfd < 0 || !read_file_at(dirfd, std::string(volume).c_str(), text))
        return rec;
    std::string_view rest = text;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        if (line.starts_with("count ")) {
            std::size_t n = 0;
            auto v = line.substr(6);
            if (std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc())
                rec.count = n;
        } else if (line.starts_with("safety ")) {
            rec.safety.emplace(line.substr(7));
        }
    }
    return rec;
}

void write_snapshot_record(int dirfd, std::string_view volume, const SnapshotRecord& record, bool durable)
{
    std::string text;
    if (record.count)
        text += fmt::format("count {}\n", *record.count);
    for (const auto& s : record.safety)
        text += fmt::format("safety {}\n", s);
    write_file_atomic(dirfd, std::string(volume), text, durable);
}

} // namespace buttervolume
