// SPDX-License-Identifier: Apache-2.0
// Commands on volumes: create, volumes (list), remove.
#include "cli/command.hpp"
#include "common/records.hpp"
#include "common/terminal.hpp"
#include "common/time_text.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

namespace buttervolume::cli {

namespace {

int create(Context& ctx, const Args& args)
{
    const std::string& name = args.positional[0];
    VolumeOptions opts = VolumeOptions::parse_pairs(args.all("opt"));
    Volume v = ctx.pool().create_volume(name, opts);
    fmt::print("{}\n", v.name);
    return 0;
}

int list(Context& ctx, const Args& args)
{
    auto vols = ctx.pool().volumes();
    if (args.flag("json")) {
        common::JsonWriter w;
        w.begin_array();
        for (const auto& v : vols)
            common::write_volume_json(w, v);
        w.end_array();
        fmt::print("{}\n", w.take());
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(vols.size());
    for (const auto& v : vols) {
        rows.push_back({v.name, common::rfc3339(v.created), v.copy_on_write ? "cow" : "nocow",
                        v.compression ? std::string(to_string(*v.compression)) : "-",
                        v.size_limit ? format_size(*v.size_limit) : "-",
                        v.size_used ? format_size(*v.size_used) : "-"});
    }
    common::print_table({"NAME", "CREATED", "COW", "COMPRESSION", "SIZE LIMIT", "USED"}, rows);
    return 0;
}

int remove(Context& ctx, const Args& args)
{
    RemoveOptions opts;
    opts.force = args.flag("force");
    for (const auto& name : args.positional) {
        ctx.pool().remove_volume(name, opts);
        fmt::print("{}\n", name);
    }
    return 0;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_volume_commands(std::vector<Command>& out)
{
    out.push_back({"create", "NAME", "create a volume",
                   "Creates the btrfs subvolume volumes/NAME, atomically. Creating an existing volume\n"
                   "with the same options succeeds; with other options it fails.\n\n"
                   "Volume options (-o KEY=VALUE, repeatable):\n"
                   "  copyonwrite=true|false   false sets no-copy-on-write (chattr +C); alias nocow=true|false\n"
                   "  compression=zstd|lzo|zlib|none   btrfs compression of new files\n"
                   "  size=SIZE                size limit (qgroup), bytes or with K/M/G/T suffix\n"
                   "  from=VOLUME[@TIMESTAMP]  start as a writable snapshot of a volume or snapshot\n"
                   "  ephemeral=true|false     with from=: a fresh clone of it each time the volume goes\n"
                   "                           from no mounts to one; writes are discarded at the last unmount",
                   {{"opt", 'o', "KEY=VALUE", "volume option (repeatable)", true}},
                   1, 1, create});
    out.push_back({"volumes", "", "list volumes with their options",
                   "Lists every volume: name, creation time, copy-on-write, compression, size limit\n"
                   "and bytes used (when quotas are on).",
                   {{"json", 0, "", "print a JSON array"}},
                   0, 0, list});
    out.push_back({"remove", "NAME...", "remove volumes (their snapshots are kept)",
                   "Removes each volume and any subvolume nested inside it. Snapshots of the volume\n"
                   "are kept. A volume mounted by a container is refused unless --force is given.",
                   {{"force", 'f', "", "remove even when mounted"}},
                   1, SIZE_MAX, remove});
}
// clang-format on

} // namespace buttervolume::cli
