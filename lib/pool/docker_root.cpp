// SPDX-License-Identifier: Apache-2.0
// A pool root shared with Docker's local volume driver (the seed's /var/lib/docker/volumes).
#include "pool/docker_root.hpp"

#include "base/sys.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

namespace buttervolume {

namespace fs = std::filesystem;

namespace {

// Docker's local driver (volume/local/local.go, Root.Remove) resolves <root>/<name>/_data;
// when that is its own volume root it refuses the removal. ".." from any folder of ours is it.
constexpr const char* guard_name = "_data";
constexpr const char* guard_target = "..";

// The name of folder when it is an entry of root itself, else empty (a folder moved elsewhere
// by BUTTERVOLUME_VOLUMES_PATH or BUTTERVOLUME_SNAPSHOTS_PATH is out of Docker's sight).
std::string entry_of_root(const fs::path& root, const fs::path& folder)
{
    fs::path f = folder.lexically_normal();
    if (!f.has_filename())
        f = f.parent_path();
    fs::path r = root.lexically_normal();
    if (!r.has_filename())
        r = r.parent_path();
    return f.parent_path() == r ? f.filename().native() : std::string();
}

// True when dir holds our link, false when it holds no _data; throws when it holds another.
bool has_guard(int dirfd, const fs::path& root, const std::string& name)
{
    std::array<char, 16> buf{};
    ssize_t n = ::readlinkat(dirfd, guard_name, buf.data(), buf.size());
    if (n < 0 && errno == ENOENT)
        return false;
    if (n == 2 && std::string_view(buf.data(), 2) == guard_target)
        return true;
    throw InvalidArgument(fmt::format(
        "pool root '{}' is a Docker volume directory, and its '{}' is Docker's local volume '{}' "
        "(it holds {}/_data): buttervolume will not share it; remove that local volume "
        "(docker volume rm {}) or use another root",
        root.native(), name, name, name, name));
}

} // namespace

bool is_docker_volume_root(const Dir& root)
{
    return root.exists("metadata.db");
}

void guard_folders_from_docker(const Dir& root, const PoolPaths& paths)
{
    std::vector<std::string> names;
    for (const fs::path* f : {&paths.volumes, &paths.snapshots, &paths.config, &paths.state})
        if (std::string n = entry_of_root(paths.root, *f); !n.empty())
            names.push_back(std::move(n));
    // Every clash is found before anything is made.
    for (const auto& n : names)
        if (UniqueFd fd = try_open_dir_at(root.fd(), n.c_str(), root.path(n).native()))
            has_guard(fd.get(), paths.root, n);
    for (const auto& n : names) {
        Dir dir = root.sub(n, true);
        if (has_guard(dir.fd(), paths.root, n))
            continue;
        if (::symlinkat(guard_target, dir.fd(), guard_name) != 0 && errno != EEXIST)
            throw_errno(fmt::format("guard '{}' from Docker's local volume driver", dir.path(guard_name).native()));
    }
}

} // namespace buttervolume
