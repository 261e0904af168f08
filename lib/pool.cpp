// SPDX-License-Identifier: Apache-2.0
// Pool: opening the layout, and the volume lifecycle (create, remove, find, list).
#include "pool_impl.hpp"

#include "btrfs/attributes.hpp"
#include "btrfs/subvolume.hpp"
#include "stream/receiver_ops.hpp"
#include "sys.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace buttervolume {

namespace fs = std::filesystem;

PoolPaths PoolPaths::under(const fs::path& root)
{
    return PoolPaths{root, root / "volumes", root / "snapshots", root / "config", root / "state"};
}

const fs::path& default_root()
{
    static const fs::path root = "/var/lib/buttervolume";
    return root;
}

std::string random_suffix()
{
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{:016x}", rng());
}

namespace {
UniqueFd open_layout_dir(const fs::path& path)
{
    ensure_dir_at(AT_FDCWD, path.c_str(), path.native());
    return open_dir_at(AT_FDCWD, path.c_str(), path.native(), false);
}

// Calls fn(name, d_type) for each entry of the directory dirfd, without following it elsewhere.
template <typename Fn>
void for_each_entry(int dirfd, std::string_view shown, Fn&& fn)
{
    int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        throw_errno(fmt::format("open '{}'", shown));
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        throw_errno(fmt::format("open '{}'", shown));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, ::closedir);
    while (struct dirent* e = ::readdir(dir)) {
        std::string_view name = e->d_name;
        if (name == "." || name == "..")
            continue;
        fn(name, e->d_type);
    }
}

// ".tmp.<volume>.<suffix>" -> "<volume>"
std::string_view owner_of(std::string_view entry, std::string_view prefix)
{
    std::string_view rest = entry.substr(prefix.size());
    auto dot = rest.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : rest.substr(0, dot);
}
} // namespace

Pool::Impl::Impl(const PoolPaths& p) : paths(p)
{
    UniqueFd root = try_open_dir_at(AT_FDCWD, p.root.c_str(), p.root.native());
    if (!root)
        throw NotFound(fmt::format("pool root '{}' does not exist (run 'buttervolume init')", p.root.native()));
    if (!btrfs::is_btrfs(root.get()))
        throw NotBtrfs(fmt::format("pool root '{}' is not on a btrfs filesystem (run 'buttervolume init' "
                                   "to create a btrfs image there)",
                                   p.root.native()));
    volumes = open_layout_dir(p.volumes);
    snapshots = open_layout_dir(p.snapshots);
    config = open_layout_dir(p.config);
    state = open_layout_dir(p.state);
    ensure_dir_at(state.get(), "locks", "state/locks", 0700);
    locks = open_dir_at(state.get(), "locks", "state/locks");
    ensure_dir_at(state.get(), "mounts", "state/mounts", 0700);
    mounts = open_dir_at(state.get(), "mounts", "state/mounts");
    if (read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", boot_id))
        while (!boot_id.empty() && boot_id.back() == '\n')
            boot_id.pop_back();
    for (auto [fd, path] : {std::pair{volumes.get(), &p.volumes}, std::pair{snapshots.get(), &p.snapshots}})
        if (!btrfs::is_btrfs(fd))
            throw NotBtrfs(fmt::format("'{}' is not on a btrfs filesystem", path->native()));
    quota.emplace(volumes.get());
}

Volume Pool::Impl::read_volume(int fd, std::string_view name, bool quota_on) const
{
    Volume v;
    v.name = name;
    v.path = paths.volumes / std::string(name);
    auto info = btrfs::subvolume_info(fd, v.path.native());
    v.created = info.otime;
    v.uuid = btrfs::uuid_to_string(info.uuid);
    v.subvolume_id = info.id;
    v.copy_on_write = !btrfs::get_nocow(fd, v.path.native());
    v.compression = btrfs::get_compression(fd, v.path.native());
    if (quota_on) {
        v.size_limit = quota->limit(info.id);
        v.size_used = quota->referenced(info.id);
    }
    return v;
}

void Pool::Impl::remove_leftovers() const
{
    // A receive killed mid-stream leaves its hidden subvolume in snapshots/.
    stream::remove_stale_receives(snapshots.get());
    std::vector<std::string> leftovers;
    for_each_entry(volumes.get(), paths.volumes.native(), [&](std::string_view entry, unsigned char) {
        if (entry.starts_with(tmp_prefix) || entry.starts_with(trash_prefix))
            leftovers.emplace_back(entry);
    });
    for (const auto& entry : leftovers) {
        std::string_view prefix = entry.starts_with(tmp_prefix) ? tmp_prefix : trash_prefix;
        std::string_view owner = owner_of(entry, prefix);
        if (!is_valid_volume_name(owner))
            continue; // not ours: never delete what we did not make
        // A creator still at work holds the volume's lock; only leftovers of dead ones are free.
        VolumeLock lock = VolumeLock::try_lock(locks.get(), owner);
        if (!lock.held())
            continue;
        if (::faccessat(volumes.get(), entry.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        // A leftover that cannot be deleted now must not stop the daemon or the CLI from
        // opening the pool: it stays hidden (never listed) and is retried at the next open.
        try {
            if (btrfs::is_subvolume_at(volumes.get(), entry.c_str()))
                btrfs::delete_subvolume(volumes.get(), entry.c_str(), true, (paths.volumes / entry).native());
        } catch (const Error&) {
        }
    }
}

Pool::Pool(const PoolPaths& paths) : impl_(std::make_unique<Impl>(paths))
{
    impl_->remove_leftovers();
}

Pool::Pool(const fs::path& root) : Pool(PoolPaths::under(root)) {}
Pool::Pool(Pool&&) noexcept = default;
Pool& Pool::operator=(Pool&&) noexcept = default;
Pool::~Pool() = default;

const PoolPaths& Pool::paths() const
{
    return impl_->paths;
}

fs::path Pool::volume_path(std::string_view name) const
{
    check_volume_name(name);
    return impl_->paths.volumes / std::string(name);
}

bool Pool::has_volume(std::string_view name) const
{
    check_volume_name(name);
    return btrfs::is_subvolume_at(impl_->volumes.get(), std::string(name).c_str());
}

std::optional<Volume> Pool::find_volume(std::string_view name) const
{
    check_volume_name(name);
    std::string n(name);
    UniqueFd fd = try_open_dir_at(impl_->volumes.get(), n.c_str(), (impl_->paths.volumes / n).native());
    if (!fd || !btrfs::is_subvolume(fd.get()))
        return std::nullopt;
    return impl_->read_volume(fd.get(), name);
}

std::vector<std::string> Pool::volume_names() const
{
    int dirfd = impl_->volumes.get();
    // One stat per entry costs ~4 us (40 ms at 10,000 volumes, Docker's List); the root tree's
    // back references name the same subvolumes in a few ioctls, when we may search it (root).
    if (auto refs = btrfs::child_subvolume_names(dirfd, impl_->paths.volumes.native())) {
        std::erase_if(*refs, [](const std::string& n) { return !is_valid_volume_name(n); });
        std::sort(refs->begin(), refs->end());
        return std::move(*refs);
    }
    std::vector<std::string> names;
    for_each_entry(dirfd, impl_->paths.volumes.native(), [&](std::string_view entry, unsigned char type) {
        // Dot entries are our temporaries; Python buttervolume 1.x left a "metadata.db" file here.
        if (!is_valid_volume_name(entry) || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        std::string n(entry);
        if (btrfs::is_subvolume_at(dirfd, n.c_str()))
            names.push_back(std::move(n));
    });
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<Volume> Pool::volumes() const
{
    std::vector<Volume> out;
    const int dirfd = impl_->volumes.get();
    const bool quota_on = impl_->quota->enabled();
    for_each_entry(dirfd, impl_->paths.volumes.native(), [&](std::string_view entry, unsigned char type) {
        if (!is_valid_volume_name(entry) || (type != DT_DIR && type != DT_UNKNOWN))
            return;
        std::string n(entry);
        // A volume removed between the scan and this read is simply not listed.
        UniqueFd fd = try_open_dir_at(dirfd, n.c_str(), (impl_->paths.volumes / n).native());
        if (fd && btrfs::is_subvolume_root(fd.get()))
            out.push_back(impl_->read_volume(fd.get(), n, quota_on));
    });
    std::sort(out.begin(), out.end(), [](const Volume& a, const Volume& b) { return a.name < b.name; });
    return out;
}

} // namespace buttervolume
