// SPDX-License-Identifier: Apache-2.0
// Target records, and the snapshots purge keeps for them (replication_parents).
#include "targets.hpp"

#include "base/sys.hpp"

#include <buttervolume/replication.hpp>
#include <buttervolume/snapshot.hpp>

#include <dirent.h>
#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace buttervolume::replication {

namespace {

constexpr auto recent = std::chrono::hours(24 * 30);

UniqueFd open_records(const PoolPaths& paths, bool create)
{
    auto dir = paths.state / "replication";
    if (create)
        ensure_dir_at(AT_FDCWD, dir.c_str(), dir.native(), 0700);
    return try_open_dir_at(AT_FDCWD, dir.c_str(), dir.native());
}

// Calls f with each line of text (without its '\n').
template <typename F>
void for_each_line(const std::string& text, F&& f)
{
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        f(std::string_view(text.data() + pos, (end == std::string::npos ? text.size() : end) - pos));
        pos = end == std::string::npos ? text.size() : end + 1;
    }
}

// Hosts named by replicate:<host> jobs of volume in config/schedule.csv (Name,Action,Timer,Active).
std::set<std::string> scheduled_hosts(const PoolPaths& paths, std::string_view volume)
{
    std::set<std::string> out;
    std::string text;
    UniqueFd cfg = try_open_dir_at(AT_FDCWD, paths.config.c_str(), paths.config.native());
    if (!cfg || !read_file_at(cfg.get(), "schedule.csv", text))
        return out;
    for_each_line(text, [&](std::string_view line) {
        auto c1 = line.find(',');
        if (c1 == std::string_view::npos || line.substr(0, c1) != volume)
            return;
        auto action = line.substr(c1 + 1, line.find(',', c1 + 1) - c1 - 1);
        if (action.starts_with("replicate:"))
            out.emplace(action.substr(10));
    });
    return out;
}

} // namespace

std::vector<TargetRecord> read_targets(const PoolPaths& paths, std::string_view volume)
{
    std::vector<TargetRecord> out;
    UniqueFd dir = open_records(paths, false);
    std::string text;
    if (!dir || !read_file_at(dir.get(), std::string(volume).c_str(), text))
        return out;
    replication::for_each_line(text, [&](std::string_view line) {
        auto t1 = line.find('\t');
        auto t2 = line.find('\t', t1 == std::string_view::npos ? t1 : t1 + 1);
        if (t1 == std::string_view::npos || t2 == std::string_view::npos)
            return;
        long long secs = 0;
        auto num = line.substr(t2 + 1);
        std::from_chars(num.data(), num.data() + num.size(), secs);
        out.push_back({std::string(line.substr(0, t1)), std::string(line.substr(t1 + 1, t2 - t1 - 1)),
                       std::chrono::system_clock::time_point(std::chrono::seconds(secs))});
    });
    return out;
}

void record_target(const PoolPaths& paths, std::string_view volume, std::string_view host, std::string_view snapshot)
{
    auto records = read_targets(paths, volume);
    std::erase_if(records, [&](const TargetRecord& r) { return r.host == host; });
    records.push_back({std::string(host), std::string(snapshot), std::chrono::system_clock::now()});
    std::string text;
    for (const auto& r : records)
        text += fmt::format("{}\t{}\t{}\n", r.host, r.snapshot,
                            std::chrono::duration_cast<std::chrono::seconds>(r.when.time_since_epoch()).count());
    UniqueFd dir = open_records(paths, true);
    write_file_atomic(dir.get(), std::string(volume), text);
}

} // namespace buttervolume::replication

namespace buttervolume {

std::vector<std::pair<std::string, std::string>> replication_parents(const PoolPaths& paths, std::string_view volume)
{
    std::map<std::string, std::string> keep;
    auto configured = replication::scheduled_hosts(paths, volume);
    auto now = std::chrono::system_clock::now();
    for (const auto& r : replication::read_targets(paths, volume)) {
        if (now - r.when > replication::recent && !configured.count(r.host))
            continue;
        auto& why = keep[r.snapshot];
        why += fmt::format("{}the parent of the next send to {}", why.empty() ? "" : "; ", r.host);
    }
    // The Python protocol's traces "<volume>@<ts>@<host>": the newest per host names the parent.
    std::map<std::string, std::string> newest_trace;
    if (DIR* d = ::opendir(paths.snapshots.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string_view n(e->d_name);
            auto last = n.rfind('@');
            if (last == std::string_view::npos || last == 0)
                continue;
            auto sn = parse_snapshot_name(n.substr(0, last));
            if (!sn || sn->volume != volume)
                continue;
            std::string host(n.substr(last + 1));
            auto& best = newest_trace[host];
            best = std::max(best, sn->str());
        }
        ::closedir(d);
    }
    for (const auto& [host, snap] : newest_trace) {
        auto& why = keep[snap];
        why += fmt::format("{}the parent of the next send to {} (Python trace)", why.empty() ? "" : "; ", host);
    }
    return {keep.begin(), keep.end()};
}

} // namespace buttervolume
