// SPDX-License-Identifier: Apache-2.0
// Replication commands, with the Python project's argument orders: send HOST[,HOST] SNAPSHOT,
// receive HOST VOLUME (pull), sync VOLUME HOST [HOST...].
#include "cli/command.hpp"
#include "common/json.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <charconv>
#include <mutex>

namespace buttervolume::cli {

using common::human_bytes;

namespace {

std::vector<OptionSpec> ssh_options()
{
    return {{"ssh-config", 0, "FILE", "ssh config file (env BUTTERVOLUME_SSH_CONFIG, else <root>/ssh/config, else ~/.ssh/config)"},
            {"identity", 'i', "FILE", "private key to authenticate with"},
            {"port", 'p', "N", "ssh port, unless HOST says host:port (env SSH_PORT)"},
            {"ssh-persist", 0, "SECONDS", "share one ssh connection per host, kept open SECONDS after its last use (env BUTTERVOLUME_SSH_PERSIST; default 0: connect anew each time)"},
            {"json", 0, "", "print the result as JSON"}};
}

Remote remote_from(const Context& ctx, const Args& args, std::string_view host)
{
    RemoteSettings s;
    if (auto v = args.value("ssh-config"))
        s.ssh_config = *v;
    if (auto v = args.value("identity"))
        s.identity = *v;
    if (auto v = args.value("port")) {
        unsigned p = 0;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), p);
        if (ec != std::errc() || end != v->data() + v->size() || p == 0 || p > 65535)
            throw UsageError(fmt::format("--port takes a number in 1..65535, not '{}'", printable(*v)));
        s.port = static_cast<std::uint16_t>(p);
    }
    if (auto v = args.value("ssh-persist")) {
        s.control_persist = parse_ssh_persist(*v);
        if (!s.control_persist)
            throw UsageError(fmt::format("--ssh-persist takes a number of seconds in 0..86400, not '{}'", printable(*v)));
    }
    if (auto v = args.value("remote-path"))
        s.remote_path = *v;
    return Remote::parse(host, resolve_remote_settings(s, ctx.paths));
}

// "sent 1.2 GiB" rewritten in place on stderr, only when it is a terminal.
ProgressCallback progress_line(const std::string& verb)
{
    if (::isatty(2) != 1)
        return {};
    return [verb](const StreamProgress& p) {
        write_stderr(fmt::format("\r{} {}\x1b[K", verb, human_bytes(p.bytes)));
    };
}

void end_progress()
{
    if (::isatty(2) == 1)
        write_stderr("\r\x1b[K");
}

std::vector<std::string> split_hosts(const std::string& arg)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (;;) {
        auto comma = arg.find(',', pos);
        out.push_back(arg.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (comma == std::string::npos)
            return out;
        pos = comma + 1;
    }
}

// The fields a send (to each host) and a receive report alike, in --json.
template <class TransferResult>
void write_transfer_fields(common::JsonWriter& w, const TransferResult& r)
{
    w.field("Host", r.host);
    w.optional_field("Snapshot", r.snapshot);
    w.field("Parent", r.parent);
    w.field("AlreadyThere", r.already_there);
    w.field("Bytes", r.bytes);
    w.field("Seconds", r.seconds);
}

int send(Context& ctx, const Args& args)
{
    const std::string& snapshot = args.positional[1];
    ReplicateOptions opts;
    opts.parent = args.value("parent");
    opts.full = args.flag("full");
    if (opts.full && opts.parent)
        throw UsageError("--full and --parent exclude each other");
    std::vector<Remote> remotes;
    for (const auto& h : split_hosts(args.positional[0]))
        remotes.push_back(remote_from(ctx, args, h));
    bool json = args.flag("json");
    common::JsonWriter w;
    w.begin_array();
    int status = 0;
    for (const auto& remote : remotes) {
        opts.progress = progress_line(fmt::format("{} -> {}:", snapshot, remote.spec));
        try {
            ReplicateResult r = replicate(ctx.pool(), snapshot, remote, opts);
            end_progress();
            for (const auto& n : r.notes)
                write_stderr(fmt::format("buttervolume send: {}\n", n));
            if (json) {
                w.begin_object();
                write_transfer_fields(w, r);
                w.field("Full", !r.parent && !r.already_there);
                w.field("Legacy", r.legacy);
                w.field("NegotiateSeconds", r.negotiate_seconds);
                w.field("Err", "");
                w.end_object();
            } else if (r.already_there) {
                fmt::print("{}: {} is already there, nothing sent\n", printable(r.host), printable(r.snapshot));
            } else {
                fmt::print("{}: sent {} {}, {} in {:.2f} s{}\n", printable(r.host), printable(r.snapshot),
                           r.parent ? fmt::format("incremental from {}", printable(*r.parent)) : std::string("in full"),
                           human_bytes(r.bytes), r.seconds, r.legacy ? " (Python protocol)" : "");
            }
        } catch (const Error& e) {
            end_progress();
            status = 1;
            write_stderr(fmt::format("buttervolume send: {}\n", e.what()));
            if (json) {
                w.begin_object();
                w.field("Host", remote.spec);
                w.field("Snapshot", snapshot);
                w.field("Err", e.what());
                w.end_object();
            }
        }
    }
    w.end_array();
    if (json)
        fmt::print("{}\n", w.take());
    return status;
}

int receive(Context& ctx, const Args& args)
{
    Remote remote = remote_from(ctx, args, args.positional[0]);
    const std::string& volume = args.positional[1];
    PullResult r = pull(ctx.pool(), volume, remote, progress_line(fmt::format("{} <- {}:", volume, remote.spec)));
    end_progress();
    if (args.flag("json")) {
        common::JsonWriter w;
        w.begin_object();
        write_transfer_fields(w, r);
        w.end_object();
        fmt::print("{}\n", w.take());
    } else if (r.snapshot.empty()) {
        fmt::print("{} holds no snapshot of {}: nothing to receive\n", printable(r.host), printable(volume));
    } else if (r.already_there) {
        fmt::print("{}: already here (the newest snapshot {} holds)\n", printable(r.snapshot), printable(r.host));
    } else {
        fmt::print("{}: received from {} {}, {} in {:.2f} s\n", printable(r.snapshot), printable(r.host),
                   r.parent ? fmt::format("incremental from {}", printable(*r.parent)) : std::string("in full"),
                   human_bytes(r.bytes), r.seconds);
    }
    return 0;
}

int sync(Context& ctx, const Args& args)
{
    const std::string& volume = args.positional[0];
    std::vector<Remote> remotes;
    for (std::size_t i = 1; i < args.positional.size(); ++i)
        remotes.push_back(remote_from(ctx, args, args.positional[i]));
    std::string safety;
    auto results = sync_volume(ctx.pool(), volume, remotes, &safety);
    int status = 0;
    common::JsonWriter w;
    w.begin_object();
    w.field("SafetySnapshot", safety);
    w.key("Hosts");
    w.begin_array();
    if (!args.flag("json"))
        fmt::print("safety snapshot {}\n", printable(safety));
    for (const auto& r : results) {
        status = r.ok ? status : 1;
        w.begin_object();
        w.field("Host", r.host);
        w.field("Ok", r.ok);
        w.field("Err", r.error);
        w.end_object();
        if (!args.flag("json"))
            fmt::print("{}: {}\n", printable(r.host), r.ok ? std::string("synced") : printable(r.error));
    }
    w.end_array();
    w.end_object();
    if (args.flag("json"))
        fmt::print("{}\n", w.take());
    return status;
}

} // namespace

void add_replication_commands(std::vector<Command>& out)
{
    auto send_opts = ssh_options();
    send_opts.push_back({"parent", 0, "SNAPSHOT", "send incrementally from this snapshot (the remote must hold it)"});
    send_opts.push_back({"full", 0, "", "send in full, whatever the remote holds"});
    send_opts.push_back({"remote-path", 0, "DIR", "snapshots folder of a Python node (default: ours)"});
    out.push_back({"send", "HOST[,HOST...] SNAPSHOT", "replicate a snapshot to other hosts over ssh",
                   "Sends SNAPSHOT to each HOST ([user@]host[:port] or an ssh-config alias). Each host\n"
                   "is asked which snapshots of the volume it holds; the newest one both sides\n"
                   "hold is the incremental parent, else the snapshot goes in full. The remote\n"
                   "(buttervolume serve-ssh as the key's forced command) receives atomically: a\n"
                   "failed send leaves nothing there, and no remote snapshot is ever deleted. A\n"
                   "host without serve-ssh (a Python buttervolume node) gets the Python protocol:\n"
                   "btrfs receive over ssh, parents from local <volume>@<ts>@<host> traces.\n"
                   "ssh runs with BatchMode=yes: keys and known host keys must be set up.",
                   send_opts, 2, 2, send});
    out.push_back({"receive", "HOST VOLUME", "fetch the newest snapshot of a volume from a host",
                   "Fetches the newest snapshot of VOLUME that HOST holds and this host lacks, into\n"
                   "snapshots/, incrementally when both hold an older one. Restore it to use it.\n"
                   "An unreachable host is an error, never \"nothing to do\".",
                   ssh_options(), 2, 2, receive});
    auto sync_opts = ssh_options();
    out.push_back({"sync", "VOLUME HOST [HOST...]", "rsync a live volume from other hosts (after a safety snapshot)",
                   "Takes a read-only snapshot of VOLUME, then pulls each HOST's copy of it into the\n"
                   "live volume with rsync over ssh (no --delete: local-only files stay; a remote\n"
                   "file overwrites a local one that differs). One result per host. Meant for\n"
                   "append-only file stores; it corrupts databases.",
                   sync_opts, 2, 64, sync});
}

} // namespace buttervolume::cli
