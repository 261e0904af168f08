// SPDX-License-Identifier: Apache-2.0
// One ssh session to a remote's serve-ssh, and how its failures read.
#pragma once

#include "base/child_process.hpp"
#include "base/stall_guard.hpp"
#include "listing.hpp"

#include <buttervolume/replication.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace buttervolume::replication {

/// The remote command for a serve-ssh request ("buttervolume serve-ssh list db"): the words a
/// forced command finds in SSH_ORIGINAL_COMMAND, and a plain shell account can run as well.
std::string serve_command(std::string_view request);

/// True when a session ended the way a host without serve-ssh ends it: the command is not
/// found (status 127), or the Python CLI rejects the unknown command (status 2, "invalid choice").
bool is_legacy_answer(int status, std::string_view first_line, std::string_view error_text);

/// "ssh exited with status 255: <its last stderr line>" and the like, for error messages.
std::string describe_failure(int status, std::string_view error_text);

/// The bound on a transfer with remote that moves nothing (RemoteSettings::stall_timeout),
/// its first window longer by ssh's connect timeout.
StallBound stall_bound(const Remote& remote);

/// The bound a serving end (serve-ssh) keeps on a peer that moves nothing: the same setting
/// as a sender's (BUTTERVOLUME_STALL_TIMEOUT, config.ini STALL_TIMEOUT, default_stall_timeout).
/// Throws InvalidArgument for a bad value.
StallBound serve_stall_bound(const PoolPaths& paths);

/// "no progress for N s (...)": why a transfer the guard stopped failed.
std::string stall_message(const StallGuard& guard);

/// Calls inner (when set) and marks progress on guard: a stream's progress reports.
ProgressCallback marking(StallGuard& guard, ProgressCallback inner);

/// Runs "list VOLUME" on remote. Throws Error (unreachable, no serve-ssh, bad answer);
/// legacy is set, before throwing, when the host has no serve-ssh.
Listing list_remote(const Remote& remote, std::string_view volume, bool* legacy = nullptr);

} // namespace buttervolume::replication
