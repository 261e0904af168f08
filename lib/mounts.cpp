// SPDX-License-Identifier: Apache-2.0
// Persisted mount counts per (volume, mount ID): what tells "in use" apart from "idle".
//
// Docker's mount IDs are per mount session, not per container: the same ID can be mounted twice
// (docker cp on a running container), and an Unmount can arrive for an ID counted before our own
// restart, or never arrive after a daemon crash. So counts are kept per ID, on disk, and voided
// when /proc/sys/kernel/random/boot_id changes (no mount survives a reboot).
#include "pool_impl.hpp"
#include "sys.hpp"

#include <buttervolume/names.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace buttervolume {

namespace {
// File format: first line "boot <boot_id>", then one line "<id> <count>" per mount ID.
void check_mount_id(std::string_view id)
{
    if (id.empty() || id.size() > 256)
        throw InvalidArgument(fmt::format("invalid mount id: it must be 1 to 256 bytes long"));
    for (unsigned char c : id)
        if (c <= 0x20 || c >= 0x7f)
            throw InvalidArgument("invalid mount id: it must be printable ASCII without spaces");
}
} // namespace

std::map<std::string, std::size_t> Pool::Impl::read_mounts(std::string_view name) const
{
    std::map<std::string, std::size_t> counts;
    std::string text;
    if (!read_file_at(mounts.get(), std::string(name).c_str(), text))
        return counts;
    std::string_view rest = text;
    auto next_line = [&rest]() {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        return line;
    };
    if (next_line() != "boot " + boot_id)
        return counts;
    while (!rest.empty()) {
        std::string_view line = next_line();
        auto sp = line.find(' ');
        if (sp == std::string_view::npos)
            continue;
        std::size_t n = 0;
        auto count = line.substr(sp + 1);
        if (std::from_chars(count.data(), count.data() + count.size(), n).ec == std::errc() && n > 0)
            counts[std::string(line.substr(0, sp))] = n;
    }
    return counts;
}

void Pool::Impl::write_mounts(std::string_view name, const std::map<std::string, std::size_t>& counts) const
{
    std::string file(name);
    if (counts.empty()) {
        if (::unlinkat(mounts.get(), file.c_str(), 0) < 0 && errno != ENOENT)
            throw_errno(fmt::format("forget mounts of volume '{}'", name));
        return;
    }
    std::string text = fmt::format("boot {}\n", boot_id);
    for (const auto& [id, n] : counts)
        text += fmt::format("{} {}\n", id, n);
    // No fsync: it cost ~5-20 ms per Mount on a loaded btrfs, and buys nothing here. The
    // rename is atomic for every reader, so a daemon crash loses nothing (the page cache
    // survives it); only a kernel crash or power loss can lose the update, and either means a
    // reboot, after which the boot_id check voids every count anyway.
    write_file_atomic(mounts.get(), file, text, false);
}

std::filesystem::path Pool::mount_volume(std::string_view name, std::string_view id)
{
    check_volume_name(name);
    check_mount_id(id);
    Impl& p = *impl_;
    VolumeLock lock = p.lock(name);
    std::string n(name);
    if (!has_volume(name))
        throw NotFound(fmt::format("mount volume '{}': no such volume", name));
    auto counts = p.read_mounts(name);
    ++counts[std::string(id)];
    p.write_mounts(name, counts);
    return p.paths.volumes / n;
}

bool Pool::unmount_volume(std::string_view name, std::string_view id)
{
    check_volume_name(name);
    check_mount_id(id);
    Impl& p = *impl_;
    VolumeLock lock = p.lock(name);
    auto counts = p.read_mounts(name);
    auto it = counts.find(std::string(id));
    if (it == counts.end())
        return false;
    if (--it->second == 0)
        counts.erase(it);
    p.write_mounts(name, counts);
    return true;
}

std::size_t Pool::mount_count(std::string_view name) const
{
    check_volume_name(name);
    std::size_t total = 0;
    for (const auto& [id, n] : impl_->read_mounts(name))
        total += n;
    return total;
}

} // namespace buttervolume
