// SPDX-License-Identifier: Apache-2.0
// Removing stale state temporaries (a kill between write and rename) and lock files of non-volumes.
#include "pool/state_leftovers.hpp"

#include "base/sys.hpp"

#include <buttervolume/names.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace buttervolume {

namespace {

constexpr std::string_view tmp_suffix = ".tmp";

// ".<volume>.<random>.tmp" (write_file_atomic's temporary) -> "<volume>"; empty when not one.
std::string_view owner_of_tmp(std::string_view entry)
{
    if (entry.size() < 2 + tmp_suffix.size() || entry[0] != '.' || !entry.ends_with(tmp_suffix))
        return {};
    std::string_view rest = entry.substr(1, entry.size() - 1 - tmp_suffix.size());
    auto dot = rest.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : rest.substr(0, dot);
}

std::vector<std::string> entries(const Dir& dir)
{
    std::vector<std::string> out;
    dir.for_each([&](std::string_view entry, unsigned char) { out.emplace_back(entry); });
    return out;
}

void remove_stale_tmp_files(const PoolLayout& layout, const Dir& dir)
{
    for (const auto& entry : entries(dir)) {
        std::string_view owner = owner_of_tmp(entry);
        if (!is_valid_volume_name(owner))
            continue;
        // Its writer held the volume's lock (and so had its lock file) while writing; a free
        // lock, or no lock file at all, means the writer is gone. The random part makes the
        // name its writer's alone, so a new writer never owns this file.
        VolumeLock lock = layout.try_lock_existing(owner);
        bool no_lock_file = !lock.held() && !layout.locks().exists(owner);
        if (lock.held() || no_lock_file)
            ::unlinkat(dir.fd(), entry.c_str(), 0);
    }
}

void remove_lock_files_of_non_volumes(const PoolLayout& layout, const VolumeStore& volumes)
{
    for (const auto& entry : entries(layout.locks())) {
        if (!is_valid_volume_name(entry) || volumes.exists(entry))
            continue;
        // Held: no operation is at work on the name, and none can start until we let go; every
        // locker checks that the file it locked is still linked (see VolumeLock).
        VolumeLock lock = layout.try_lock_existing(entry);
        if (lock.held() && !volumes.exists(entry))
            lock.remove_file();
    }
}

} // namespace

void remove_state_leftovers(const PoolLayout& layout, const VolumeStore& volumes) noexcept
{
    for (const char* sub : {"mounts", "snapshots", "ephemeral"}) {
        try {
            if (Dir dir = layout.state().try_sub(sub))
                remove_stale_tmp_files(layout, dir);
        } catch (const Error&) {
        }
    }
    try {
        remove_lock_files_of_non_volumes(layout, volumes);
    } catch (const Error&) {
    }
}

} // namespace buttervolume
