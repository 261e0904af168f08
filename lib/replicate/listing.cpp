// SPDX-License-Identifier: Apache-2.0
// The serve-ssh listing, written by one end and read by the other.
#include "listing.hpp"

#include "btrfs/subvolume.hpp"
#include "base/sys.hpp"
#include "base/child_process.hpp"

#include <fcntl.h>

#include <charconv>

namespace buttervolume::replication {

namespace {

std::vector<std::string_view> split_tabs(std::string_view line)
{
    std::vector<std::string_view> out;
    for (;;) {
        auto tab = line.find('\t');
        out.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos)
            return out;
        line.remove_prefix(tab + 1);
    }
}

std::string dash(const std::string& s)
{
    return s.empty() ? "-" : s;
}

std::string undash(std::string_view s)
{
    return s == "-" ? std::string() : std::string(s);
}

std::uint64_t number(std::string_view s, std::string_view line)
{
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        throw Error(EPROTO, fmt::format("serve-ssh listing: bad number in '{}'", line.substr(0, 200)));
    return v;
}

} // namespace

std::vector<RemoteSnapshot> local_snapshots(const Pool& pool, std::string_view volume)
{
    std::vector<RemoteSnapshot> out;
    for (const auto& s : pool.snapshots(volume)) {
        RemoteSnapshot r;
        r.name = s.name;
        r.uuid = s.uuid;
        r.received_uuid = s.received_uuid;
        r.parent_uuid = s.parent_uuid;
        r.created = s.created;
        UniqueFd fd(::open(s.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd)
            continue; // deleted since the listing
        r.ctransid = btrfs::subvolume_info(fd.get(), s.path.native()).ctransid;
        // Only read-only snapshots can be parents or prove a copy: a writable one may differ.
        if (!s.read_only)
            continue;
        out.push_back(std::move(r));
    }
    return out;
}

std::string format_listing(const PoolPaths& paths, const std::vector<RemoteSnapshot>& items)
{
    std::string out = fmt::format("{}\nvolumes\t{}\nsnapshots\t{}\n", protocol_line, paths.volumes.native(),
                                  paths.snapshots.native());
    for (const auto& r : items) {
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(r.created.time_since_epoch()).count();
        out += fmt::format("snapshot\t{}\t{}\t{}\t{}\t{}\t{}\n", r.name, dash(r.uuid), dash(r.received_uuid),
                           dash(r.parent_uuid), r.ctransid, secs);
    }
    out += "end\n";
    return out;
}

Listing read_listing(int fd, std::string& first_line)
{
    Listing l;
    std::string line;
    if (!read_line(fd, line) || line != protocol_line) {
        first_line = line;
        throw Error(EPROTO, fmt::format("the remote did not answer as buttervolume serve-ssh ('{}')",
                                        line.substr(0, 200)));
    }
    first_line = line;
    for (;;) {
        if (!read_line(fd, line))
            throw Error(EPROTO, "serve-ssh listing: the remote stopped before its end line");
        if (line == "end")
            return l;
        auto f = split_tabs(line);
        if (f[0] == "volumes" && f.size() == 2) {
            l.volumes = std::string(f[1]);
        } else if (f[0] == "snapshots" && f.size() == 2) {
            l.snapshots = std::string(f[1]);
        } else if (f[0] == "snapshot" && f.size() == 7) {
            RemoteSnapshot r;
            r.name = std::string(f[1]);
            r.uuid = undash(f[2]);
            r.received_uuid = undash(f[3]);
            r.parent_uuid = undash(f[4]);
            r.ctransid = number(f[5], line);
            r.created = std::chrono::system_clock::time_point(std::chrono::seconds(number(f[6], line)));
            l.items.push_back(std::move(r));
        } else {
            throw Error(EPROTO, fmt::format("serve-ssh listing: unexpected line '{}'", line.substr(0, 200)));
        }
    }
}

} // namespace buttervolume::replication
