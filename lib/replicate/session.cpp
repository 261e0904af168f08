// SPDX-License-Identifier: Apache-2.0
// ssh sessions to serve-ssh: the request words, listing, and reading failures.
#include "session.hpp"

#include <buttervolume/error.hpp>

#include <fmt/format.h>

namespace buttervolume::replication {

std::string serve_command(std::string_view request)
{
    return fmt::format("buttervolume serve-ssh {}", request);
}

bool is_legacy_answer(int status, std::string_view first_line, std::string_view error_text)
{
    if (!first_line.empty())
        return false;
    if (status == 127)
        return true;
    return status == 2 && error_text.find("invalid choice") != std::string_view::npos;
}

std::string describe_failure(int status, std::string_view error_text)
{
    std::string last = last_line(error_text);
    if (status > 128 && status < 128 + 65)
        return fmt::format("ssh was killed by signal {}{}", status - 128, last.empty() ? "" : ": " + last);
    if (status == 255)
        return fmt::format("ssh failed: {}", last.empty() ? "status 255" : last);
    if (last.empty())
        return fmt::format("the remote exited with status {}", status);
    return last;
}

StallBound stall_bound(const Remote& remote)
{
    return {remote.settings.stall_timeout.value_or(default_stall_timeout), remote.settings.connect_timeout};
}

std::string stall_message(const StallGuard& guard)
{
    return fmt::format("no progress for {} s (the remote stopped reading or writing; ssh was stopped; "
                       "BUTTERVOLUME_STALL_TIMEOUT or config.ini STALL_TIMEOUT sets the bound)",
                       guard.timeout().count());
}

ProgressCallback marking(StallGuard& guard, ProgressCallback inner)
{
    return [&guard, inner = std::move(inner)](const StreamProgress& p) {
        guard.progress();
        if (inner)
            inner(p);
    };
}

Listing list_remote(const Remote& remote, std::string_view volume, bool* legacy)
{
    ChildProcess ssh(remote.ssh_argv(serve_command(fmt::format("list {}", volume))), Stdio::Null, Stdio::Pipe,
                     Stdio::Pipe);
    // A listing is a few lines: the whole of it gets one bound.
    StallGuard guard(ssh, stall_bound(remote));
    std::string first;
    try {
        Listing l = read_listing(ssh.stdout_fd(), first);
        ssh.close_stdout();
        int rc = ssh.wait();
        if (guard.fired() && rc != 0)
            throw Error(ETIMEDOUT, fmt::format("list the snapshots of '{}' on {}: {}", volume, remote.spec,
                                               stall_message(guard)));
        if (rc != 0)
            throw Error(EIO, fmt::format("list the snapshots of '{}' on {}: {}", volume, remote.spec,
                                         describe_failure(rc, ssh.error_text())));
        return l;
    } catch (const Error& e) {
        if (e.code().value() == EIO || e.code().value() == ETIMEDOUT)
            throw;
        ssh.close_stdout();
        int rc = ssh.wait();
        if (guard.fired() && rc != 0)
            throw Error(ETIMEDOUT, fmt::format("list the snapshots of '{}' on {}: {}", volume, remote.spec,
                                               stall_message(guard)));
        if (legacy)
            *legacy = is_legacy_answer(rc, first, ssh.error_text());
        if (rc != 0)
            throw Error(EHOSTUNREACH, fmt::format("list the snapshots of '{}' on {}: {}", volume, remote.spec,
                                                  describe_failure(rc, ssh.error_text())));
        throw Error(EPROTO, fmt::format("list the snapshots of '{}' on {}: {}", volume, remote.spec, e.what()));
    }
}

} // namespace buttervolume::replication

namespace buttervolume {
std::vector<RemoteSnapshot> remote_snapshots(const Remote& remote, std::string_view volume)
{
    return replication::list_remote(remote, volume).items;
}
} // namespace buttervolume
