// SPDX-License-Identifier: Apache-2.0
// replicate: one ssh session per host; the remote lists what it holds, we pick the parent and
// stream, it receives atomically and says what it did.
#include "pool/volume_lock.hpp"
#include "base/sys.hpp"
#include "base/child_process.hpp"
#include "legacy.hpp"
#include "listing.hpp"
#include "session.hpp"
#include "targets.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>
#include <buttervolume/send.hpp>
#include <buttervolume/snapshot.hpp>

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

namespace buttervolume {

namespace {

using Steady = std::chrono::steady_clock;

double since(Steady::time_point t0)
{
    return std::chrono::duration<double>(Steady::now() - t0).count();
}

std::optional<std::string> pick_parent(const std::vector<RemoteSnapshot>& local, std::string_view snapshot,
                                       const std::vector<RemoteSnapshot>& remote, const Remote& host,
                                       const ReplicateOptions& opts)
{
    if (opts.full)
        return std::nullopt;
    if (!opts.parent)
        return choose_parent(local, snapshot, remote);
    auto it = std::find_if(local.begin(), local.end(), [&](const RemoteSnapshot& l) { return l.name == *opts.parent; });
    if (it == local.end())
        throw NotFound(fmt::format("send '{}': no local snapshot '{}' to use as the parent", snapshot, *opts.parent));
    bool held = std::any_of(remote.begin(), remote.end(), [&](const RemoteSnapshot& r) { return correlated(*it, r); });
    if (!held)
        throw InvalidArgument(fmt::format("send '{}': {} does not hold the parent '{}' (drop --parent to let the "
                                          "remote's snapshots decide)",
                                          snapshot, host.spec, *opts.parent));
    return opts.parent;
}

// The answer after the stream: "received NAME", "present NAME" or "nothing".
void check_answer(ReplicateResult& r, const std::string& out, const Remote& remote, int rc, const std::string& err)
{
    if (rc != 0)
        throw Error(EIO, fmt::format("send '{}' to {} failed: {}", r.snapshot, remote.spec, replication::describe_failure(rc, err)));
    auto line = out.substr(0, out.find('\n'));
    if (line == fmt::format("present\t{}", r.snapshot))
        r.already_there = true;
    else if (line != fmt::format("received\t{}", r.snapshot) && !(r.already_there && line == "nothing"))
        throw Error(EPROTO, fmt::format("send '{}' to {}: unexpected answer '{}'", r.snapshot, remote.spec,
                                        line.substr(0, 200)));
}

// The error of a send the guard stopped: the remote moved nothing for its bound.
Error stalled(std::string_view snapshot, const Remote& remote, const StallGuard& guard)
{
    return Error(ETIMEDOUT, fmt::format("send '{}' to {} failed: {}", snapshot, remote.spec,
                                        replication::stall_message(guard)));
}

// After the stream: the remote's answer, still under the guard.
void finish(ChildProcess& ssh, StallGuard& guard, ReplicateResult& r, const Remote& remote,
            const std::string& local_error)
{
    ssh.close_stdin();
    // The remote commits (and syncs) what it received before it answers: the bound starts anew.
    guard.progress();
    std::string answer;
    try {
        answer = read_to_end(ssh.stdout_fd());
    } catch (const Error&) {
    }
    int rc = ssh.wait();
    if (guard.fired() && rc != 0)
        throw stalled(r.snapshot, remote, guard);
    if (!local_error.empty() && rc == 0)
        throw Error(EIO, fmt::format("send '{}' to {} failed: {}", r.snapshot, remote.spec, local_error));
    check_answer(r, answer, remote, rc, ssh.error_text());
}

} // namespace

ReplicateResult replicate(Pool& pool, std::string_view snapshot, const Remote& remote, const ReplicateOptions& opts)
{
    auto t0 = Steady::now();
    SnapshotName sn = check_snapshot_name(snapshot);
    if (opts.parent) {
        auto p = check_snapshot_name(*opts.parent);
        if (p.volume != sn.volume)
            throw InvalidArgument(fmt::format("send '{}': parent '{}' is not a snapshot of volume '{}'", snapshot,
                                              *opts.parent, sn.volume));
    }
    const PoolPaths& paths = pool.paths();
    UniqueFd locks = open_dir_at(AT_FDCWD, (paths.state / "locks").c_str(), (paths.state / "locks").native(), false);
    // Held until the remote has it: purge, rm or restore cannot take the snapshot or the
    // parent away in the middle.
    VolumeLock lock(locks.get(), sn.volume);
    auto local = replication::local_snapshots(pool, sn.volume);
    auto self = std::find_if(local.begin(), local.end(), [&](const RemoteSnapshot& l) { return l.name == snapshot; });
    if (self == local.end())
        throw NotFound(fmt::format("send '{}': no such snapshot", snapshot));

    ReplicateResult result;
    result.host = remote.spec;
    result.snapshot = std::string(snapshot);
    ChildProcess ssh(remote.ssh_argv(replication::serve_command(fmt::format("receive {}", sn.volume))),
                                Stdio::Pipe, Stdio::Pipe, Stdio::Pipe);
    // Held locks and a remote that stops reading (its sshd still answers keep-alives) would
    // otherwise wait forever: the guard kills ssh, every pipe ends, the lock goes with us.
    StallGuard guard(ssh, replication::stall_bound(remote));
    std::string first;
    replication::Listing listing;
    try {
        listing = replication::read_listing(ssh.stdout_fd(), first);
    } catch (const Error& e) {
        ssh.close_stdin();
        ssh.close_stdout();
        int rc = ssh.wait();
        if (guard.fired() && rc != 0)
            throw stalled(snapshot, remote, guard);
        if (replication::is_legacy_answer(rc, first, ssh.error_text())) {
            result = replication::legacy_send(pool, snapshot, remote, opts, std::move(result));
            replication::record_target(paths, sn.volume, remote.spec, snapshot);
            result.seconds = since(t0);
            return result;
        }
        throw Error(rc == 0 ? EPROTO : EHOSTUNREACH,
                    fmt::format("send '{}' to {}: {}", snapshot, remote.spec,
                                rc == 0 ? std::string(e.what()) : replication::describe_failure(rc, ssh.error_text())));
    }
    guard.progress();
    result.negotiate_seconds = since(t0);
    for (const auto& r : listing.items)
        for (const auto& l : local)
            if (!r.uuid.empty() && r.uuid == l.uuid) {
                ssh.kill(SIGTERM);
                throw InvalidArgument(fmt::format("send '{}': {} is this very pool (it lists our own snapshot "
                                                  "'{}')",
                                                  snapshot, remote.spec, l.name));
            }
    result.already_there = std::any_of(listing.items.begin(), listing.items.end(),
                                       [&](const RemoteSnapshot& r) { return correlated(*self, r); });
    std::string local_error;
    if (!result.already_there) {
        result.parent = pick_parent(local, snapshot, listing.items, remote, opts);
        PoolSendOptions so;
        so.progress = replication::marking(guard, opts.progress);
        so.parent = result.parent;
        try {
            result.bytes = pool.send(result.snapshot, ssh.stdin_fd(), so).bytes;
        } catch (const Error& e) {
            local_error = e.what();
        }
    }
    finish(ssh, guard, result, remote, local_error);
    replication::record_target(paths, sn.volume, remote.spec, snapshot);
    result.seconds = since(t0);
    return result;
}

} // namespace buttervolume
