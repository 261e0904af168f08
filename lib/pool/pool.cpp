// SPDX-License-Identifier: Apache-2.0
// Pool: opening the layout (and removing leftovers of interrupted operations), paths, lookups.
#include "pool/pool_impl.hpp"
#include "pool/state_leftovers.hpp"

#include "stream/receive_target.hpp"

#include <buttervolume/names.hpp>

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

Pool::Pool(const PoolPaths& paths) : impl_(std::make_unique<Impl>(paths))
{
    // A receive killed mid-stream leaves its hidden subvolume in snapshots/.
    stream::remove_stale_receives(impl_->layout.snapshots().fd());
    impl_->volumes.remove_leftovers();
    // Records first: removing one locks its name, and the next step removes the lock files of
    // names that are no volume.
    remove_orphan_ephemeral_records(impl_->layout, impl_->volumes, impl_->ephemeral);
    remove_state_leftovers(impl_->layout, impl_->volumes);
}

Pool::Pool(const fs::path& root) : Pool(PoolPaths::under(root)) {}
Pool::Pool(Pool&&) noexcept = default;
Pool& Pool::operator=(Pool&&) noexcept = default;
Pool::~Pool() = default;

const PoolPaths& Pool::paths() const
{
    return impl_->layout.paths();
}

fs::path Pool::volume_path(std::string_view name) const
{
    check_volume_name(name);
    return impl_->layout.volumes().path(name);
}

bool Pool::has_volume(std::string_view name) const
{
    check_volume_name(name);
    return impl_->volumes.exists(name);
}

std::optional<Volume> Pool::find_volume(std::string_view name) const
{
    check_volume_name(name);
    return impl_->volumes.find(name);
}

std::vector<std::string> Pool::volume_names() const
{
    return impl_->volumes.names();
}

std::vector<Volume> Pool::volumes() const
{
    return impl_->volumes.list();
}

} // namespace buttervolume
