// SPDX-License-Identifier: Apache-2.0
// Small helpers shared by the replication test files: volumes with data, snapshots, sends.
#pragma once

#include "ssh_hosts.hpp"

#include <fmt/format.h>

#include <string>

namespace buttervolume::test {

inline std::string trimmed(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

/// A local pool (the sending host: it needs no sshd) on its own btrfs.
struct LocalPool {
    BtrfsFixture fs;
    explicit LocalPool(std::uint64_t size = 512ULL << 20) : fs(size)
    {
        std::filesystem::create_directories(root());
        bv(root(), {"volumes"});
    }
    std::filesystem::path root() const { return fs.root(); }
};

/// Creates volume v in root with file "name" holding text.
inline void put_file(const std::filesystem::path& root, const std::string& v, const std::string& name,
                     const std::string& text)
{
    if (!std::filesystem::exists(volume_dir(root, v)))
        bv(root, {"create", v});
    sh(fmt::format("printf '%s' '{}' > '{}/{}' && sync", text, volume_dir(root, v).native(), name));
}

/// Takes a snapshot of v in root and returns its name.
inline std::string take_snapshot(const std::filesystem::path& root, const std::string& v)
{
    RunResult r = bv(root, {"snapshot", v});
    if (r.status != 0)
        throw std::runtime_error("snapshot failed: " + r.err);
    return trimmed(r.out);
}

/// `buttervolume send` from root to hosts (an alias list) with the test client's ssh config.
inline RunResult send_to(const std::filesystem::path& root, const std::string& hosts, const std::string& snap,
                         std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"send", "--ssh-config", ssh_client().config().native(), hosts, snap};
    args.insert(args.end(), extra.begin(), extra.end());
    return bv(root, args);
}

inline std::string read_file(const std::filesystem::path& p)
{
    return sh(fmt::format("cat '{}'", p.native()));
}

/// Entries of a host's snapshots folder, sorted, one per line (hidden ones included).
inline std::string snapshot_entries(const std::filesystem::path& root)
{
    return sh(fmt::format("ls -A '{}/snapshots' | sort", root.native()));
}

} // namespace buttervolume::test
