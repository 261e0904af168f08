// SPDX-License-Identifier: Apache-2.0
// Commands on snapshots, with the Python project's argument orders: snapshot, snapshots,
// restore, clone, rm, purge.
#include "cli/command.hpp"
#include "common/records.hpp"
#include "common/terminal.hpp"
#include "common/time_text.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/retention.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace buttervolume::cli {

namespace {

using common::JsonWriter;
using common::utc_micro;

int snapshot(Context& ctx, const Args& args)
{
    Snapshot s = ctx.pool().snapshot(args.positional[0]);
    fmt::print("{}\n", printable(s.name));
    return 0;
}

int list(Context& ctx, const Args& args)
{
    std::optional<std::string_view> volume;
    if (!args.positional.empty())
        volume = args.positional[0];
    auto snaps = ctx.pool().snapshots(volume);
    if (args.flag("json")) {
        JsonWriter w;
        w.begin_array();
        for (const auto& s : snaps)
            common::write_snapshot_json(w, s);
        w.end_array();
        fmt::print("{}\n", w.take());
        return 0;
    }
    bool sizes = std::any_of(snaps.begin(), snaps.end(), [](const Snapshot& s) { return s.size_used.has_value(); });
    bool notes = std::any_of(snaps.begin(), snaps.end(),
                             [](const Snapshot& s) { return s.safety || s.zone == TimestampZone::Local; });
    std::vector<std::string> header{"NAME", "CREATED"};
    if (sizes)
        header.push_back("SIZE");
    if (notes)
        header.push_back("NOTE");
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : snaps) {
        std::vector<std::string> row{printable(s.name), utc_micro(s.time)};
        if (sizes)
            row.push_back(s.size_used ? format_size(*s.size_used) : "-");
        if (notes) {
            std::vector<std::string> n;
            if (s.safety)
                n.push_back("safety snapshot of a restore");
            if (s.zone == TimestampZone::Local)
                n.push_back("local-time name");
            row.push_back(n.empty() ? "" : fmt::format("{}", fmt::join(n, ", ")));
        }
        rows.push_back(std::move(row));
    }
    common::print_table(header, rows);
    return 0;
}

int restore(Context& ctx, const Args& args)
{
    std::optional<std::string_view> target;
    if (args.positional.size() > 1)
        target = args.positional[1];
    RestoreOptions opts;
    opts.force = args.flag("force");
    RestoreResult r = ctx.pool().restore(args.positional[0], target, opts);
    // stdout carries the safety snapshot, as the Python CLI printed its backup; which snapshot
    // was used goes to stderr for people.
    write_stderr(fmt::format("restored {} into volume {}\n", printable(r.source.name), printable(r.target)));
    if (r.safety_snapshot)
        fmt::print("{}\n", printable(*r.safety_snapshot));
    return 0;
}

int clone(Context& ctx, const Args& args)
{
    Volume v = ctx.pool().clone(args.positional[0], args.positional[1]);
    fmt::print("{}\n", printable(v.name));
    return 0;
}

int remove(Context& ctx, const Args& args)
{
    for (const auto& name : args.positional) {
        ctx.pool().remove_snapshot(name);
        fmt::print("{}\n", printable(name));
    }
    return 0;
}

int purge(Context& ctx, const Args& args)
{
    // The pattern is checked before the pool is opened: bad input changes nothing.
    RetentionPattern pattern = RetentionPattern::parse(args.positional[0]);
    PurgeOptions opts;
    opts.dry_run = args.flag("dryrun");
    auto decisions = ctx.pool().purge(args.positional[1], pattern, opts);
    if (args.flag("json")) {
        JsonWriter w;
        w.begin_array();
        for (const auto& d : decisions) {
            w.begin_object();
            w.field("Name", d.snapshot.name);
            w.field("Time", utc_micro(d.snapshot.time));
            w.key("Keep");
            w.boolean(d.keep);
            w.key("Deleted");
            w.boolean(d.deleted);
            w.field("Reason", d.reason);
            w.end_object();
        }
        w.end_array();
        fmt::print("{}\n", w.take());
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : decisions) {
        std::string action = d.keep ? (opts.dry_run ? "keep" : "kept") : (opts.dry_run ? "delete" : "deleted");
        rows.push_back({action, printable(d.snapshot.name), d.reason});
    }
    common::print_table({"ACTION", "SNAPSHOT", "REASON"}, rows);
    return 0;
}

} // namespace

// A command table, laid out by hand.
// clang-format off
void add_snapshot_commands(std::vector<Command>& out)
{
    out.push_back({"snapshot", "VOLUME", "take a read-only snapshot of a volume",
                   "Takes the read-only snapshot snapshots/VOLUME@TIMESTAMP (UTC,\n"
                   "%Y-%m-%dT%H:%M:%S.%f) in constant time, whatever the volume's size, and prints\n"
                   "its name. Two snapshots in the same microsecond get consecutive microseconds.",
                   {}, 1, 1, snapshot});
    out.push_back({"snapshots", "[VOLUME]", "list snapshots, oldest first",
                   "Lists the snapshots of VOLUME (of every volume without it), oldest first: name,\n"
                   "time (UTC), size when quotas are on, and notes (safety snapshots of restores,\n"
                   "names the Python project wrote in local time). Other entries of snapshots/,\n"
                   "such as replication traces VOLUME@TIMESTAMP@HOST, are not listed.",
                   {{"json", 0, "", "print a JSON array"}},
                   0, 1, list});
    out.push_back({"restore", "SNAPSHOT|VOLUME [TARGET]", "restore a snapshot into its volume or another",
                   "Replaces TARGET (default: the snapshot's volume) by a writable copy of SNAPSHOT.\n"
                   "Given a VOLUME, restores its newest snapshot that is not the safety snapshot of\n"
                   "an earlier restore (so restoring twice does not swap back).\n\n"
                   "First a read-only safety snapshot of TARGET is taken (its name is printed), then\n"
                   "the new content is swapped in atomically (renameat2 RENAME_EXCHANGE) and the old\n"
                   "one deleted: TARGET never disappears. A mounted TARGET is refused unless --force.",
                   {{"force", 'f', "", "restore even when the target is mounted"}},
                   1, 2, restore});
    out.push_back({"clone", "VOLUME|SNAPSHOT TARGET", "create a volume as a writable copy",
                   "Creates volume TARGET as a writable snapshot of VOLUME or SNAPSHOT (instant, and\n"
                   "sharing data until either side changes). An existing TARGET is refused.\n"
                   "Docker users get the same with `docker volume create -o from=SOURCE`.",
                   {}, 2, 2, clone});
    out.push_back({"rm", "SNAPSHOT...", "delete snapshots",
                   "Deletes each snapshot VOLUME@TIMESTAMP. The name is checked first: anything\n"
                   "that is not exactly VOLUME@YYYY-MM-DDTHH:MM:SS.ffffff is refused.",
                   {}, 1, SIZE_MAX, remove});
    out.push_back({"purge", "PATTERN VOLUME", "delete old snapshots by a retention pattern",
                   "PATTERN is N{m,h,d,w,y}[:N{unit}...] in ascending order, e.g. 1h:1d:1w:4w:1y\n"
                   "(m minutes, h hours, d days, w weeks, y 365 days):\n"
                   "  - snapshots younger than the first duration are kept;\n"
                   "  - between two durations, one snapshot (the oldest) is kept per bucket of the\n"
                   "    lower duration; buckets follow the UTC calendar (days from midnight, weeks\n"
                   "    from Monday), so a snapshot kept once stays kept until it leaves its band;\n"
                   "  - snapshots older than the last duration are deleted;\n"
                   "  - the newest snapshot is never deleted.\n"
                   "Prints each snapshot with the action and the reason.",
                   {{"dryrun", 'n', "", "only show what would be deleted"}, {"json", 0, "", "print a JSON array"}},
                   2, 2, purge});
}
// clang-format on

} // namespace buttervolume::cli
