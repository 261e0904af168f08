// SPDX-License-Identifier: Apache-2.0
// Replication between hosts over SSH: the Remote, parent negotiation, send, pull and sync.
#pragma once

#include <buttervolume/export.hpp>
#include <buttervolume/stream.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace buttervolume {

class Pool;
struct PoolPaths;

/// How to reach remotes: every field unset means "leave it to ssh and its config".
struct BV_EXPORT RemoteSettings {
    /// ssh -F: the ssh config file (aliases, keys, known_hosts).
    std::optional<std::filesystem::path> ssh_config;
    /// ssh -i: the private key (with IdentitiesOnly=yes).
    std::optional<std::filesystem::path> identity;
    /// ssh -p, unless HOST names its own port.
    std::optional<std::uint16_t> port;
    /// Where a remote without serve-ssh (a Python node) keeps its snapshots; default: our own
    /// snapshots path, as the Python project assumes the same layout on every node.
    std::optional<std::filesystem::path> remote_path;
    std::chrono::seconds connect_timeout{10};
    /// Keep-alives: a peer that stops answering for interval * count_max is given up.
    std::chrono::seconds alive_interval{15};
    int alive_count_max = 4;
    /// The client program (tests may point it elsewhere; never run through a shell).
    std::string ssh_program = "ssh";
    /// Connection sharing: above zero, ssh keeps one master connection per host (ControlMaster,
    /// its socket in control_dir) open this long after its last use, so the next command to
    /// that host skips the ssh handshake. Zero: each command connects anew. Unset: as
    /// resolve_remote_settings finds it (zero when nothing says otherwise).
    std::optional<std::chrono::seconds> control_persist;
    /// Where the master connections' sockets are (resolve_remote_settings: <root>/state/ssh).
    std::optional<std::filesystem::path> control_dir;
    /// A transfer (send, pull, their listings) that moves no byte for this long fails and
    /// releases its locks: ssh's keep-alives cannot tell a remote buttervolume that stopped
    /// reading or writing from a slow one, its sshd answers them. Zero: never. Unset: as
    /// resolve_remote_settings finds it, else default_stall_timeout.
    std::optional<std::chrono::seconds> stall_timeout;
};

/// The stall bound when nothing sets one: twice the minute ssh's keep-alives give a silent peer.
inline constexpr std::chrono::seconds default_stall_timeout{120};

/// Fills what flags left unset, in order: the environment (BUTTERVOLUME_SSH_CONFIG, the Python
/// project's SSH_PORT, BUTTERVOLUME_SSH_PERSIST: seconds to keep a shared connection, which
/// puts control_dir at <root>/state/ssh; BUTTERVOLUME_STALL_TIMEOUT, else config.ini's
/// [DEFAULT] STALL_TIMEOUT: seconds in 0..86400), then <root>/ssh/config when that file
/// exists; anything still unset is left to the user's own ssh config. Throws InvalidArgument
/// for a bad SSH_PORT, BUTTERVOLUME_SSH_PERSIST or stall timeout.
BV_EXPORT RemoteSettings resolve_remote_settings(RemoteSettings flags, const PoolPaths& paths);

/// The seconds of --ssh-persist / BUTTERVOLUME_SSH_PERSIST: a whole number in 0..86400, else
/// nullopt.
BV_EXPORT std::optional<std::chrono::seconds> parse_ssh_persist(std::string_view text);

/// One remote host: "[user@]host[:port]" or an alias of the ssh config.
struct BV_EXPORT Remote {
    /// HOST as given.
    std::string spec;
    std::optional<std::string> user;
    std::string host;
    std::optional<std::uint16_t> port;
    RemoteSettings settings;

    /// Parses spec; throws InvalidArgument naming it and why (empty, a leading '-', a character
    /// outside [A-Za-z0-9._-] in user or host, a port outside 1..65535).
    static Remote parse(std::string_view spec, RemoteSettings settings = {});

    /// The argv that runs remote_command on the host: ssh with BatchMode=yes, a connect
    /// timeout, keep-alives, no tty, agent or X11 forwarding, and no escape character.
    std::vector<std::string> ssh_argv(std::string_view remote_command) const;

    /// The host part used in replication traces "<volume>@<ts>@<host>" (spec without "user@").
    std::string trace_name() const;
};

/// One snapshot as a remote (or the local pool) lists it.
struct BV_EXPORT RemoteSnapshot {
    std::string name;
    std::string uuid;
    std::string received_uuid;
    std::string parent_uuid;
    std::uint64_t ctransid = 0;
    std::chrono::system_clock::time_point created;
};

/// True when a and b hold the same content for send/receive: one was received from the other
/// (a.uuid == b.received_uuid or the reverse), or both were received from the same subvolume.
BV_EXPORT bool correlated(const RemoteSnapshot& a, const RemoteSnapshot& b);

/// Picks the incremental parent for sending `snapshot` (one of `local`, which is sorted oldest
/// first) to a host holding `remote`: the newest local snapshot older than it that is
/// correlated with a remote one, else the oldest newer one; nullopt for a full send.
BV_EXPORT std::optional<std::string> choose_parent(const std::vector<RemoteSnapshot>& local,
                                                   std::string_view snapshot,
                                                   const std::vector<RemoteSnapshot>& remote);

/// Flags for replicate.
struct BV_EXPORT ReplicateOptions {
    /// Use this local snapshot as the parent (checked against the remote).
    std::optional<std::string> parent;
    /// Send in full, whatever the remote holds.
    bool full = false;
    ProgressCallback progress;
};

/// What replicate did for one host.
struct BV_EXPORT ReplicateResult {
    std::string host;
    std::string snapshot;
    /// The parent of an incremental send; nullopt for a full one.
    std::optional<std::string> parent;
    /// The remote already held the snapshot: nothing was sent.
    bool already_there = false;
    /// The remote has no serve-ssh: the Python protocol (btrfs receive over ssh) was used.
    bool legacy = false;
    /// Stream bytes written to the ssh pipe.
    std::uint64_t bytes = 0;
    /// Time to learn what the remote holds (one ssh round trip), and the whole operation.
    double negotiate_seconds = 0;
    double seconds = 0;
    /// Things worth a log line (the fallback to the Python protocol, a retry in full).
    std::vector<std::string> notes;
};

/// Sends snapshot (a "<volume>@<timestamp>" of pool) to remote, incrementally against the
/// newest snapshot both hold, holding the volume's lock. The remote's receive is atomic: a
/// failure leaves nothing there, and no remote snapshot is ever deleted. Falls back to the
/// Python protocol (logged) when the remote has no serve-ssh. Records the host as a target
/// of the volume, so purge keeps the parent the next send needs.
/// Throws InvalidArgument, NotFound, Error (ssh or the remote failed: its message included;
/// ETIMEDOUT when nothing moved for the stall timeout, ssh stopped and the lock released).
BV_EXPORT ReplicateResult replicate(Pool& pool, std::string_view snapshot, const Remote& remote,
                                    const ReplicateOptions& opts = {});

/// What pull did.
struct BV_EXPORT PullResult {
    std::string host;
    /// The snapshot fetched (or found already here); empty when the host holds none.
    std::string snapshot;
    std::optional<std::string> parent;
    bool already_there = false;
    std::uint64_t bytes = 0;
    double seconds = 0;
};

/// Fetches the newest snapshot of volume that remote holds into pool's snapshots/,
/// incrementally when a common parent exists. An unreachable host is an Error, never
/// "nothing to do"; a transfer that moves nothing for the stall timeout is an Error
/// (ETIMEDOUT) that leaves nothing here. Throws InvalidArgument, Error.
BV_EXPORT PullResult pull(Pool& pool, std::string_view volume, const Remote& remote,
                          const ProgressCallback& progress = {});

/// The snapshots of volume that remote holds, oldest first (one ssh round trip).
/// Throws Error when the host cannot be reached or has no serve-ssh.
BV_EXPORT std::vector<RemoteSnapshot> remote_snapshots(const Remote& remote, std::string_view volume);

/// What sync did with one host.
struct BV_EXPORT SyncResult {
    std::string host;
    bool ok = false;
    /// rsync's error output when it failed.
    std::string error;
};

/// The Python project's sync: for each host, rsync pulls its copy of volume into the live
/// local volume (no --delete: local-only files stay), over the same ssh settings, after a
/// local safety snapshot (its name in safety_snapshot). An rsync that moves nothing for the
/// stall timeout is stopped (SIGTERM: it removes its unfinished file) and that host fails.
/// Never throws for a host's failure: each gets its own result. Throws InvalidArgument,
/// NotFound (no such volume).
BV_EXPORT std::vector<SyncResult> sync_volume(Pool& pool, std::string_view volume,
                                              const std::vector<Remote>& remotes,
                                              std::string* safety_snapshot = nullptr);

/// Snapshots purge must keep for replication, with the reason: for each host the volume was
/// sent to (recorded by replicate, or a replicate:<host> job in config/schedule.csv), the
/// newest snapshot sent there, which the next incremental send needs as its parent.
BV_EXPORT std::vector<std::pair<std::string, std::string>> replication_parents(const PoolPaths& paths,
                                                                               std::string_view volume);

/// The forced command's work: checks command (SSH_ORIGINAL_COMMAND, or serve-ssh's own
/// arguments) against the few allowed forms and runs it with in_fd/out_fd as the ssh
/// session's stdin/stdout. Anything else is refused with one line on err_fd. Every request is
/// logged to state/serve-ssh.log. Returns the exit status.
BV_EXPORT int serve_ssh(const PoolPaths& paths, std::string_view command, int in_fd, int out_fd, int err_fd);

} // namespace buttervolume
