// SPDX-License-Identifier: Apache-2.0
// pull: the newest snapshot a remote holds of a volume, fetched through its serve-ssh "send".
#include "pool/volume_lock.hpp"
#include "base/sys.hpp"
#include "base/child_process.hpp"
#include "guarded_receive.hpp"
#include "listing.hpp"
#include "session.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/settings.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/replication.hpp>

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

namespace buttervolume {

PullResult pull(Pool& pool, std::string_view volume, const Remote& remote, const ProgressCallback& progress)
{
    auto t0 = std::chrono::steady_clock::now();
    check_volume_name(volume);
    PullResult result;
    result.host = remote.spec;
    bool legacy = false;
    replication::Listing listing;
    try {
        listing = replication::list_remote(remote, volume, &legacy);
    } catch (const Error& e) {
        if (legacy)
            throw Error(EPROTO, fmt::format("receive '{}' from {}: it has no buttervolume serve-ssh (a Python node "
                                            "can only send)",
                                            volume, remote.spec));
        throw;
    }
    if (listing.items.empty())
        return result;
    const RemoteSnapshot newest = listing.items.back();
    result.snapshot = newest.name;
    if (auto sn = parse_snapshot_name(newest.name); !sn || sn->volume != volume)
        throw Error(EPROTO, fmt::format("receive '{}' from {}: it listed '{}'", volume, remote.spec, newest.name));

    {
        // No lock: Pool::receive commits under the volume's lock, and a snapshot received
        // meanwhile by someone else makes ours fail on its name, never overwrite it.
        auto local = replication::local_snapshots(pool, volume);
        for (const auto& l : local)
            if (correlated(l, newest)) {
                result.already_there = true;
                result.snapshot = l.name;
                return result;
            }
        // The parent, named as the remote knows it: its newest older snapshot we also hold.
        for (auto it = std::next(listing.items.rbegin()); it != listing.items.rend() && !result.parent; ++it)
            if (std::any_of(local.begin(), local.end(), [&](const RemoteSnapshot& l) { return correlated(l, *it); }))
                result.parent = it->name;
        std::string request = fmt::format("send {}", newest.name);
        if (result.parent)
            request += " " + *result.parent;
        ChildProcess ssh(remote.ssh_argv(replication::serve_command(request)), Stdio::Null,
                                    Stdio::Pipe, Stdio::Pipe);
        // A remote that stops writing (its sshd still answers keep-alives) would leave us
        // reading forever: the guard kills ssh, the receive sees the stream end and removes
        // what it had made.
        StallGuard guard(ssh, replication::stall_bound(remote));
        ReceiveOptions ro;
        ro.progress = replication::marking(guard, progress);
        ro.min_free_percent = load_settings(pool.paths()).min_free_percent; // as serve-ssh's receive
        try {
            auto got = replication::receive_one_snapshot(
                pool, ssh.stdout_fd(),
                [&](const SnapshotName& sn) {
                    if (sn.str() != newest.name)
                        throw Error(EPROTO, fmt::format("{} sent '{}' instead of '{}'", remote.spec, sn.str(),
                                                        newest.name));
                },
                ro);
            if (got.empty)
                throw Error(EIO, "no stream came");
            result.bytes = got.bytes;
            result.already_there = got.present;
        } catch (const Error& e) {
            ssh.kill(SIGTERM);
            int rc = ssh.wait();
            if (guard.fired() && rc != 0)
                throw Error(ETIMEDOUT, fmt::format("receive '{}' from {} failed: {}", newest.name, remote.spec,
                                                   replication::stall_message(guard)));
            std::string remote_err = last_line(ssh.error_text());
            throw Error(e.code(), fmt::format("receive '{}' from {} failed: {}{}", newest.name, remote.spec, e.what(),
                                              remote_err.empty() ? "" : fmt::format(" (remote: {})", remote_err)));
            (void)rc;
        }
        int rc = ssh.wait();
        if (guard.fired() && rc != 0)
            throw Error(ETIMEDOUT, fmt::format("receive '{}' from {} failed: {}", newest.name, remote.spec,
                                               replication::stall_message(guard)));
        if (rc != 0)
            throw Error(EIO, fmt::format("receive '{}' from {}: {}", newest.name, remote.spec,
                                         replication::describe_failure(rc, ssh.error_text())));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace buttervolume
