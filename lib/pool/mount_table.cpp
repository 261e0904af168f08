// SPDX-License-Identifier: Apache-2.0
// Persisted mount counts per (volume, mount ID): what tells "in use" apart from "idle".
//
// Docker's mount IDs are per mount session, not per container: the same ID can be mounted twice
// (docker cp on a running container), and an Unmount can arrive for an ID counted before our own
// restart, or never arrive after a daemon crash. So counts are kept per ID, on disk, and voided
// when /proc/sys/kernel/random/boot_id changes (no mount survives a reboot).
#include "pool/mount_table.hpp"

#include "base/sys.hpp"
#include "pool/ephemeral.hpp"
#include "pool/pool_impl.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>
#include <fcntl.h>

#include <charconv>

namespace buttervolume {

namespace {
// The largest total of mounts a file may hold: far above any real count, far below a wrap.
constexpr std::size_t max_count = std::size_t(1) << 32;

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

MountTable::MountTable(const Dir& state) : dir_(state.sub("mounts", true, 0700))
{
    if (read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", boot_id_))
        while (!boot_id_.empty() && boot_id_.back() == '\n')
            boot_id_.pop_back();
}

std::map<std::string, std::size_t> MountTable::read(std::string_view name) const
{
    std::map<std::string, std::size_t> counts;
    std::string text;
    if (!dir_.read_file(name, text))
        return counts;
    // Anything this writer would not have written is reported with the file's path: taking a
    // line we cannot read as "no mount" could let remove delete a volume in use.
    auto corrupt = [&](std::size_t line_no, std::string_view why) {
        return Error(EBADMSG, fmt::format("mount counts '{}' are unreadable (line {}: {}); check which containers "
                                          "use volume '{}', then fix or delete the file",
                                          dir_.path(name).native(), line_no, why, name));
    };
    std::string_view rest = text;
    auto next_line = [&rest]() {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        return line;
    };
    std::string_view first = next_line();
    if (!first.starts_with("boot "))
        throw corrupt(1, "no 'boot <id>' header");
    if (first != "boot " + boot_id_)
        return counts; // written in another boot: no mount survives a reboot
    std::size_t total = 0;
    for (std::size_t line_no = 2; !rest.empty(); ++line_no) {
        std::string_view line = next_line();
        auto sp = line.find(' ');
        if (sp == std::string_view::npos || sp == 0)
            throw corrupt(line_no, "not '<mount id> <count>'");
        std::size_t n = 0;
        auto count = line.substr(sp + 1);
        auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
        if (ec != std::errc() || end != count.data() + count.size() || n == 0)
            throw corrupt(line_no, fmt::format("count '{}' is not a number from 1 to {}", count, max_count));
        // No real count comes near this; a sum that could wrap would read as "unmounted".
        if (n > max_count || total > max_count - n)
            throw corrupt(line_no, fmt::format("counts add up to more than {}", max_count));
        total += n;
        if (!counts.emplace(std::string(line.substr(0, sp)), n).second)
            throw corrupt(line_no, "the mount id is listed twice");
    }
    return counts;
}

void MountTable::write(std::string_view name, const std::map<std::string, std::size_t>& counts) const
{
    if (counts.empty()) {
        dir_.remove_file(name);
        return;
    }
    std::string text = fmt::format("boot {}\n", boot_id_);
    for (const auto& [id, n] : counts)
        text += fmt::format("{} {}\n", id, n);
    // No fsync: it cost ~5-20 ms per Mount on a loaded btrfs, and buys nothing here. The
    // rename is atomic for every reader, so a daemon crash loses nothing (the page cache
    // survives it); only a kernel crash or power loss can lose the update, and either means a
    // reboot, after which the boot_id check voids every count anyway.
    dir_.write_file(name, text, false);
}

std::size_t MountTable::total(std::string_view name) const
{
    std::size_t total = 0;
    for (const auto& [id, n] : read(name))
        total += n;
    return total;
}

// An ephemeral volume gets its fresh clone when it goes from no mounts to one, before the
// mount is counted: a refresh that fails (its source is gone) fails the Mount, and Docker then
// starts no container on stale data.
std::filesystem::path Pool::mount_volume(std::string_view name, std::string_view id)
{
    check_volume_name(name);
    check_mount_id(id);
    const Impl& p = *impl_;
    auto no_such_volume = [&] { return NotFound(fmt::format("mount volume '{}': no such volume", name)); };
    // Checked before the lock too: a lock file is made for volumes only.
    if (!p.volumes.exists(name))
        throw no_such_volume();
    VolumeLock lock = p.layout.lock(name);
    if (!p.volumes.exists(name))
        throw no_such_volume();
    auto counts = p.mounts.read(name);
    std::size_t total = 0;
    for (const auto& [other, n] : counts)
        total += n;
    if (total >= max_count)
        throw Busy(fmt::format("mount volume '{}': it already has {} mounts", name, total));
    if (counts.empty())
        if (auto source = p.ephemeral.source(name))
            refresh_ephemeral(p.layout, p.volumes, p.snapshots, name, *source, fmt::format("mount volume '{}'", name));
    ++counts[std::string(id)];
    p.mounts.write(name, counts);
    return p.layout.volumes().path(name);
}

// At the last Unmount an ephemeral volume drops what containers wrote (a fresh clone again,
// so nothing they wrote stays on disk). The Unmount itself never fails for it: the container
// is gone either way, and when the source is gone too the content stays until a Mount, which
// then fails saying why.
bool Pool::unmount_volume(std::string_view name, std::string_view id)
{
    check_volume_name(name);
    check_mount_id(id);
    const Impl& p = *impl_;
    // Docker sends Unmounts for names and IDs we never counted: those are answered from a read
    // (files are replaced whole), taking no lock, so they leave no lock file behind.
    auto seen = p.mounts.read(name);
    if (seen.find(std::string(id)) == seen.end())
        return false;
    VolumeLock lock = p.layout.lock(name);
    auto counts = p.mounts.read(name);
    auto it = counts.find(std::string(id));
    if (it == counts.end())
        return false;
    if (--it->second == 0)
        counts.erase(it);
    p.mounts.write(name, counts);
    // The unmount has happened: neither reading the record nor the fresh clone may fail it (a
    // volume left with what containers wrote gets its fresh clone at the next first Mount).
    if (counts.empty()) {
        try {
            if (auto source = p.ephemeral.source(name); source && p.volumes.exists(name))
                refresh_ephemeral(p.layout, p.volumes, p.snapshots, name, *source,
                                  fmt::format("unmount volume '{}'", name));
        } catch (const Error&) {
        }
    }
    return true;
}

std::size_t MountTable::total_all() const
{
    auto sum = [this] {
        std::size_t n = 0;
        dir_.for_each([&](std::string_view entry, unsigned char type) {
            // Temporaries of an atomic write start with a dot: never a volume name.
            if ((type != DT_REG && type != DT_UNKNOWN) || !is_valid_volume_name(entry))
                return;
            try {
                n += total(entry);
            } catch (const Error&) {
            }
        });
        return n;
    };
    return total_all_.with(dir_.fd(), dir_.path().native(), sum, [](std::size_t n) { return n; });
}

std::size_t Pool::mount_count(std::string_view name) const
{
    check_volume_name(name);
    return impl_->mounts.total(name);
}

} // namespace buttervolume
