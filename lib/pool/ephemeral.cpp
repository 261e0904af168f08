// SPDX-License-Identifier: Apache-2.0
// Ephemeral volumes: the state/ephemeral/<volume> records and the swap to a fresh clone.
//
// The record lives in state/, not in the subvolume (an xattr there would be a container's to
// remove), and is written before the volume is renamed into place: a crash in between leaves
// a record without a volume, which the next Pool open removes; never an ephemeral volume that
// has forgotten it is one.
#include "pool/ephemeral.hpp"

#include "base/sys.hpp"
#include "pool/layout.hpp"
#include "pool/snapshot_store.hpp"
#include "pool/volume_store.hpp"

#include <buttervolume/names.hpp>

#include <dirent.h>

namespace buttervolume {

namespace {
// File format: one line "from <source>".
constexpr std::string_view from_key = "from ";
} // namespace

EphemeralRecords::EphemeralRecords(const Dir& state) : dir_(state.sub("ephemeral", true, 0755)) {}

std::optional<std::string> EphemeralRecords::source(std::string_view volume) const
{
    std::string text;
    if (!dir_.read_file(volume, text))
        return std::nullopt;
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    // A record we cannot read still marks the volume ephemeral: the source check at the next
    // mount then fails with the text, rather than the volume silently keeping what was written.
    if (text.starts_with(from_key))
        text.erase(0, from_key.size());
    return text;
}

void EphemeralRecords::write(std::string_view volume, std::string_view source) const
{
    dir_.write_file(volume, fmt::format("{}{}\n", from_key, source));
}

void EphemeralRecords::forget(std::string_view volume) const
{
    dir_.remove_file(volume);
}

std::vector<std::string> EphemeralRecords::names() const
{
    std::vector<std::string> out;
    dir_.for_each([&](std::string_view entry, unsigned char type) {
        if (is_valid_volume_name(entry) && (type == DT_REG || type == DT_UNKNOWN))
            out.emplace_back(entry);
    });
    return out;
}

void refresh_ephemeral(const PoolLayout& layout, const VolumeStore& volumes, const SnapshotStore& snapshots,
                       std::string_view name, const std::string& source, std::string_view what)
{
    UniqueFd src;
    try {
        src = snapshots.open_source(source, what);
    } catch (const NotFound&) {
        const bool is_snapshot = source.find('@') != std::string::npos;
        throw NotFound(fmt::format("{}: its source, {} '{}', no longer exists, so no fresh clone can be made; the "
                                   "ephemeral volume is left as it was (recreate the source, or remove the volume)",
                                   what, is_snapshot ? "snapshot" : "volume", source));
    }
    UniqueFd old = layout.volumes().open_dir(name);
    volumes.replace(name, old.get(), src.get(), fmt::format("{}: fresh clone of '{}'", what, source), "ephemeral");
}

void remove_orphan_ephemeral_records(const PoolLayout& layout, const VolumeStore& volumes,
                                     const EphemeralRecords& records)
{
    for (const auto& name : records.names()) {
        // One stat for each ephemeral volume; only a record without its volume is locked (its
        // creator may still be at work) and removed. Like any leftover, one that cannot be
        // removed now (a read-only filesystem) must not stop the pool from opening.
        if (volumes.exists(name))
            continue;
        try {
            VolumeLock lock = layout.try_lock(name);
            if (lock.held() && !volumes.exists(name))
                records.forget(name);
        } catch (const Error&) {
        }
    }
}

} // namespace buttervolume
