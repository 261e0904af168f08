// SPDX-License-Identifier: Apache-2.0
// legacy_send: what Python buttervolume 3.13 does, minus its deletion of the remote copy.
#include "legacy.hpp"

#include "btrfs/subvolume.hpp"
#include "base/sys.hpp"
#include "base/child_process.hpp"
#include "session.hpp"

#include <buttervolume/send.hpp>
#include <buttervolume/snapshot.hpp>

#include <dirent.h>
#include <fcntl.h>

#include <algorithm>

namespace buttervolume::replication {

namespace {

// Traces of snapshots of volume sent to host, sorted (the newest last, as Python's sorted()).
std::vector<std::string> traces(const PoolPaths& paths, std::string_view volume, const std::string& host)
{
    std::vector<std::string> out;
    if (DIR* d = ::opendir(paths.snapshots.c_str())) {
        while (struct dirent* e = ::readdir(d)) {
            std::string_view n(e->d_name);
            if (!n.ends_with("@" + host))
                continue;
            auto sn = parse_snapshot_name(n.substr(0, n.size() - host.size() - 1));
            if (sn && sn->volume == volume)
                out.emplace_back(n);
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// One attempt: the stream into "btrfs receive PATH" on the remote. Returns "" or the error;
// stalled tells that the remote stopped moving (a retry in full would only stall again).
std::string attempt(const Pool& pool, std::string_view snapshot, const std::optional<std::string>& parent,
                    const Remote& remote, const std::filesystem::path& remote_path, const ReplicateOptions& opts,
                    std::uint64_t& bytes, bool& stalled)
{
    ChildProcess ssh(remote.ssh_argv(fmt::format("btrfs receive {}", remote_path.native())), Stdio::Pipe,
                     Stdio::Null, Stdio::Pipe);
    // As with serve-ssh: a remote btrfs receive that stops reading must not hold our lock for good.
    StallGuard guard(ssh, stall_bound(remote));
    PoolSendOptions so;
    so.progress = marking(guard, opts.progress);
    so.parent = parent;
    std::string local_error;
    try {
        bytes = pool.send(snapshot, ssh.stdin_fd(), so).bytes;
    } catch (const Error& e) {
        local_error = e.what();
    }
    ssh.close_stdin();
    guard.progress();
    int rc = ssh.wait();
    stalled = guard.fired() && rc != 0;
    if (stalled)
        return stall_message(guard);
    if (rc == 0 && local_error.empty())
        return {};
    if (rc != 0)
        return describe_failure(rc, ssh.error_text());
    return local_error;
}

} // namespace

ReplicateResult legacy_send(Pool& pool, std::string_view snapshot, const Remote& remote,
                            const ReplicateOptions& opts, ReplicateResult result)
{
    const PoolPaths& paths = pool.paths();
    auto sn = *parse_snapshot_name(snapshot);
    const std::string host = remote.trace_name();
    auto path = remote.settings.remote_path.value_or(paths.snapshots);
    result.legacy = true;
    result.notes.push_back(fmt::format("{} has no buttervolume serve-ssh: using the Python protocol (btrfs receive "
                                       "{} there)",
                                       remote.spec, path.native()));
    auto sent = traces(paths, sn.volume, host);
    std::optional<std::string> parent = opts.parent;
    if (!opts.full && !parent && !sent.empty()) {
        std::string base = sent.back().substr(0, sent.back().size() - host.size() - 1);
        if (base == snapshot) {
            result.already_there = true;
            return result;
        }
        if (pool.find_snapshot(base))
            parent = base;
    }
    bool stalled = false;
    std::string err = attempt(pool, snapshot, parent, remote, path, opts, result.bytes, stalled);
    if (!err.empty() && parent && !stalled) {
        // Python deletes the remote copy here; a failed btrfs receive may leave a partial
        // one behind, which we leave for the remote's owner rather than risk a good copy.
        result.notes.push_back(fmt::format("incremental send from '{}' to {} failed ({}); sending in full", *parent,
                                           remote.spec, err));
        parent.reset();
        err = attempt(pool, snapshot, parent, remote, path, opts, result.bytes, stalled);
    }
    if (!err.empty())
        throw Error(stalled ? ETIMEDOUT : EIO,
                    fmt::format("send '{}' to {} (Python protocol) failed: {}", snapshot, remote.spec, err));
    result.parent = parent;
    // The trace: a read-only snapshot of what was sent, named for the host.
    UniqueFd snaps = open_dir_at(AT_FDCWD, paths.snapshots.c_str(), paths.snapshots.native(), false);
    std::string trace = fmt::format("{}@{}", snapshot, host);
    if (!btrfs::is_subvolume_at(snaps.get(), trace.c_str())) {
        UniqueFd src = open_dir_at(snaps.get(), std::string(snapshot).c_str(), std::string(snapshot));
        btrfs::create_snapshot(src.get(), snaps.get(), trace.c_str(), true, (paths.snapshots / trace).native());
    }
    for (const auto& old : sent)
        if (old != trace)
            btrfs::delete_subvolume(snaps.get(), old.c_str(), false, (paths.snapshots / old).native());
    return result;
}

} // namespace buttervolume::replication
