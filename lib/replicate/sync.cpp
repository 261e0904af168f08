// SPDX-License-Identifier: Apache-2.0
// sync_volume: the Python project's rsync pull into the live volume, after a safety snapshot.
#include "base/child_process.hpp"
#include "session.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <fmt/format.h>

namespace buttervolume {

namespace {

// rsync splits -e on white space and honours quotes (not a shell: no expansion).
std::string rsync_quote(const std::string& arg)
{
    if (arg.find_first_of(" \t'\"") == std::string::npos)
        return arg;
    std::string out = "'";
    for (char c : arg)
        out += c == '\'' ? std::string("'\"'\"'") : std::string(1, c);
    return out + "'";
}

SyncResult sync_one(const Pool& pool, std::string_view volume, const Remote& remote)
{
    SyncResult r;
    r.host = remote.spec;
    // serve-ssh tells its own volumes path; a Python node has ours (the same layout everywhere).
    std::filesystem::path remote_volumes = pool.paths().volumes;
    bool legacy = false;
    try {
        remote_volumes = replication::list_remote(remote, volume, &legacy).volumes;
    } catch (const Error& e) {
        if (!legacy) {
            r.error = e.what();
            return r;
        }
    }
    auto ssh = remote.ssh_argv("");
    ssh.resize(ssh.size() - 3); // "--", host, command: rsync adds the host and its own command
    std::string e;
    for (const auto& a : ssh)
        e += (e.empty() ? "" : " ") + rsync_quote(a);
    // --no-protect-args: an RSYNC_PROTECT_ARGS in the environment would add -s, which the far
    // end's serve-ssh refuses (it lets the key holder send a new argument list).
    std::vector<std::string> argv{"rsync", "-a", "-z", "-h", "--no-protect-args", "-e", e, "--",
                                  fmt::format("{}:{}/", remote.host, (remote_volumes / std::string(volume)).native()),
                                  pool.volume_path(volume).native() + "/"};
    ChildProcess rsync(argv, Stdio::Null, Stdio::Null, Stdio::Pipe);
    int rc = rsync.wait();
    r.ok = rc == 0;
    if (!r.ok)
        r.error = fmt::format("rsync from {} failed (status {}): {}", remote.spec, rc,
                              last_line(rsync.error_text()));
    return r;
}

} // namespace

std::vector<SyncResult> sync_volume(Pool& pool, std::string_view volume, const std::vector<Remote>& remotes,
                                    std::string* safety_snapshot)
{
    check_volume_name(volume);
    if (!pool.has_volume(volume))
        throw NotFound(fmt::format("sync '{}': no such volume", volume));
    // The Python CLI's sync took none; a remote file overwrites a local one, so keep a way back.
    Snapshot s = pool.snapshot(volume);
    if (safety_snapshot)
        *safety_snapshot = s.name;
    std::vector<SyncResult> out;
    for (const auto& remote : remotes)
        out.push_back(sync_one(pool, volume, remote));
    return out;
}

} // namespace buttervolume
