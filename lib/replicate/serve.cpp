// SPDX-License-Identifier: Apache-2.0
// serve_ssh: runs one allowed request of a forced command, refuses and logs everything else.
#include "pool/volume_lock.hpp"
#include "base/sys.hpp"
#include "base/child_process.hpp"
#include "guarded_receive.hpp"
#include "listing.hpp"
#include "serve_command.hpp"
#include "session.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>
#include <buttervolume/send.hpp>
#include <buttervolume/settings.hpp>

#include <fmt/chrono.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <chrono>
#include <thread>
#include <cstdlib>

namespace buttervolume {

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_stop(int)
{
    stop_requested = true;
}

// A TERM or HUP (sshd going away) stops a receive between commands, and the receiver removes
// the unfinished subvolume; no SA_RESTART, so a blocked read returns EINTR and is checked.
void install_stop_handlers()
{
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP})
        ::sigaction(s, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
}

// One line per request in state/serve-ssh.log, in one O_APPEND write so that parallel
// sessions never mix their lines.
void log_request(const PoolPaths& paths, std::string_view verdict, std::string_view command, std::string_view detail)
{
    const char* conn = std::getenv("SSH_CONNECTION");
    std::string client = conn ? std::string(std::string_view(conn).substr(0, std::string_view(conn).find(' ')))
                              : std::string("local");
    auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::string line = fmt::format("{:%Y-%m-%dT%H:%M:%SZ} {} {} '{}'{}{}\n",
                                   fmt::gmtime(std::chrono::system_clock::to_time_t(now)), client, verdict,
                                   replication::shown(command), detail.empty() ? "" : ": ", replication::shown(detail));
    UniqueFd fd(::open((paths.state / "serve-ssh.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (fd)
        (void)!::write(fd.get(), line.data(), line.size());
}

void check_volume(const replication::ServeRequest& req, const SnapshotName& sn)
{
    if (sn.volume != req.volume)
        throw InvalidArgument(fmt::format("refusing to receive '{}': this session receives volume '{}'", sn.str(),
                                          req.volume));
}

// A peer that stops sending or reading (its sshd still answers keep-alives) would hold this
// session, its process and a hidden subvolume for good. On a stall the guard stops the request
// as sshd's SIGTERM does (a receive removes what it made); a request stuck in a write that
// does not end is then killed, and the next open of the pool removes what it left.
StallBound serve_bound(const PoolPaths& paths, const replication::ServeRequest& req)
{
    using replication::Verb;
    bool streams = req.verb == Verb::Receive || req.verb == Verb::BtrfsReceive || req.verb == Verb::Send;
    return streams ? replication::serve_stall_bound(paths) : StallBound{};
}

std::string stall_text(std::chrono::seconds bound)
{
    return fmt::format("no progress for {} s (the other host stopped sending or reading; BUTTERVOLUME_STALL_TIMEOUT "
                       "or config.ini STALL_TIMEOUT sets the bound)",
                       bound.count());
}

int run_request(Pool& pool, const replication::ServeRequest& req, StallGuard& guard, int in_fd, int out_fd,
                int err_fd)
{
    using replication::Verb;
    const PoolPaths& paths = pool.paths();
    ReceiveOptions ropts;
    ropts.cancel = [] { return stop_requested.load(); };
    ropts.progress = replication::marking(guard, {});
    // The floor snapshot jobs keep (MIN_FREE): a few bytes of stream can ask for gigabytes.
    if (req.verb == Verb::Receive || req.verb == Verb::BtrfsReceive)
        ropts.min_free_percent = load_settings(paths).min_free_percent;
    switch (req.verb) {
    case Verb::List:
        write_all(out_fd, replication::format_listing(paths, replication::local_snapshots(pool, req.volume)));
        return 0;
    case Verb::Receive: {
        std::string result;
        {
            // No lock here: Pool::receive commits under the volume's lock (and a sender to its
            // own pool, which holds that lock, sees its own UUIDs in the listing and stops).
            write_all(out_fd,
                                 replication::format_listing(paths, replication::local_snapshots(pool, req.volume)));
            auto got = replication::receive_one_snapshot(
                pool, in_fd, [&](const SnapshotName& sn) { check_volume(req, sn); }, ropts);
            result = got.empty ? "nothing\n" : fmt::format("{}\t{}\n", got.present ? "present" : "received", got.name);
        }
        write_all(out_fd, result);
        return 0;
    }
    case Verb::Send: {
        PoolSendOptions sopts;
        for (const auto* n : {&req.snapshot, req.parent ? &*req.parent : nullptr}) {
            if (n && !pool.find_snapshot(*n))
                throw NotFound(fmt::format("no snapshot '{}' here", *n));
        }
        sopts.parent = req.parent;
        sopts.progress = replication::marking(guard, {});
        pool.send(req.snapshot, out_fd, sopts);
        return 0;
    }
    case Verb::Rsync: {
        if (!pool.has_volume(req.volume))
            throw NotFound(fmt::format("no volume '{}' here", req.volume));
        // The stream layer widens the pipes of our own streams; rsync's go past it.
        widen_pipe(in_fd);
        widen_pipe(out_fd);
        // rsync's own bound on a peer that moves nothing (the sender's I/O timeout), as ours.
        std::vector<std::string> argv = req.argv;
        if (auto bound = replication::serve_stall_bound(paths).timeout; bound.count() > 0)
            argv.insert(argv.begin() + 4, fmt::format("--timeout={}", bound.count()));
        ChildProcess rsync(argv, Stdio::Inherit, Stdio::Inherit,
                                      Stdio::Inherit, in_fd, out_fd);
        return rsync.wait();
    }
    case Verb::BtrfsReceive: {
        auto got = replication::receive_one_snapshot(pool, in_fd, [](const SnapshotName&) {}, ropts);
        if (!got.empty) {
            // What btrfs receive prints, for a Python sender's logs.
            write_all(err_fd, fmt::format("At subvol {}\n", got.name));
        }
        return 0;
    }
    case Verb::BtrfsDelete: {
        // A Python sender deletes only what it sent (its fallback after a failed receive): a
        // snapshot made here has no received UUID and is never the key holder's to delete.
        auto snap = pool.find_snapshot(req.snapshot);
        if (!snap)
            throw NotFound(fmt::format("no snapshot '{}' here", req.snapshot));
        if (snap->received_uuid.empty())
            throw InvalidArgument(fmt::format("refusing to delete '{}': it was made on this host, not received; "
                                              "this key deletes only snapshots sent to this host",
                                              req.snapshot));
        pool.remove_snapshot(req.snapshot);
        write_all(out_fd, fmt::format("Delete subvolume '{}'\n", (paths.snapshots / req.snapshot).native()));
        return 0;
    }
    }
    return 1;
}

} // namespace

int serve_ssh(const PoolPaths& paths, std::string_view command, int in_fd, int out_fd, int err_fd)
{
    install_stop_handlers();
    replication::ServeRequest req;
    try {
        req = replication::parse_serve_command(command, paths);
    } catch (const Error& e) {
        log_request(paths, "refused", command, e.what());
        write_all(err_fd, fmt::format("buttervolume serve-ssh: refused: {}\n", e.what()));
        return 1;
    }
    std::optional<StallGuard> guard;
    try {
        Pool pool(paths);
        pthread_t serving = ::pthread_self();
        auto bound = serve_bound(paths, req);
        guard.emplace(
            [&, serving, bound](int signal) {
                if (signal == SIGKILL) { // still stuck (in a write that EINTR does not end)
                    log_request(paths, "killed", command, stall_text(bound.timeout));
                    ::kill(::getpid(), SIGKILL);
                }
                ::pthread_kill(serving, signal);
            },
            bound);
        int rc = run_request(pool, req, *guard, in_fd, out_fd, err_fd);
        log_request(paths, rc == 0 ? "done" : fmt::format("exit {}", rc), command, "");
        return rc;
    } catch (const std::exception& e) {
        std::string why = guard && guard->fired() ? fmt::format("{}: {}", stall_text(guard->timeout()), e.what())
                                                  : std::string(e.what());
        log_request(paths, "failed", command, why);
        try {
            write_all(err_fd, fmt::format("buttervolume serve-ssh: {}\n", why));
        } catch (...) {
        }
        return 1;
    }
}

} // namespace buttervolume
