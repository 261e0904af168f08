// SPDX-License-Identifier: Apache-2.0
// sync_volume: the Python project's rsync pull into the live volume, after a safety snapshot.
#include "base/child_process.hpp"
#include "session.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/names.hpp>
#include <buttervolume/pool.hpp>
#include <buttervolume/replication.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace buttervolume {

namespace {

// Reads a small /proc file; empty when it is gone.
std::string proc_text(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return {};
    char buf[4096];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::uint64_t io_field(const std::string& io, std::string_view key)
{
    auto at = io.find(key);
    return at == std::string::npos ? 0 : std::strtoull(io.c_str() + at + key.size(), nullptr, 10);
}

// The bytes read and written by the rsync processes under pid (the client and the receiver it
// forks): rsync's data crosses only them, and ssh's keep-alives, which a stalled remote's sshd
// still answers, never count.
std::uint64_t rsync_bytes(pid_t pid)
{
    std::uint64_t total = 0;
    std::vector<pid_t> todo{pid};
    for (std::size_t i = 0; i < todo.size() && i < 64; ++i) {
        const std::string dir = fmt::format("/proc/{}", todo[i]);
        if (proc_text(dir + "/comm") == "rsync\n") {
            std::string io = proc_text(dir + "/io");
            total += io_field(io, "rchar: ") + io_field(io, "wchar: ");
        }
        // Single-threaded: the main task's children are all of them.
        std::string kids = proc_text(fmt::format("{}/task/{}/children", dir, todo[i]));
        for (char* p = kids.data(); *p;) {
            char* end = nullptr;
            long k = std::strtol(p, &end, 10);
            if (end == p)
                break;
            todo.push_back(static_cast<pid_t>(k));
            p = end;
        }
    }
    return total;
}

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
    // Its own process group: a stalled remote is given up by signalling rsync and its ssh
    // together. SIGTERM first, so that rsync removes the file it was writing.
    ChildProcess rsync(argv, Stdio::Null, Stdio::Null, Stdio::Pipe, -1, -1, true);
    StallGuard guard(rsync, replication::stall_bound(remote), SIGTERM,
                     [pid = rsync.pid()] { return rsync_bytes(pid); });
    int rc = rsync.wait();
    r.ok = rc == 0;
    if (!r.ok && guard.fired())
        r.error = fmt::format("rsync from {} failed: {}", remote.spec, replication::stall_message(guard));
    else if (!r.ok)
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
