// SPDX-License-Identifier: Apache-2.0
// serve_ssh: runs one allowed request of a forced command, refuses and logs everything else.
#include "../locks.hpp"
#include "../sys.hpp"
#include "child_process.hpp"
#include "guarded_receive.hpp"
#include "listing.hpp"
#include "serve_command.hpp"

#include <buttervolume/error.hpp>
#include <buttervolume/replication.hpp>
#include <buttervolume/send.hpp>

#include <fmt/chrono.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
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

// A remote session waits for the volume's lock a bounded time: a long local operation, or a
// host sending to its own pool (whose send holds the same lock), gives an error, not a hang.
VolumeLock lock_volume(int locks_fd, std::string_view volume, int in_fd = -1)
{
    for (int i = 0; i < 300; ++i) {
        VolumeLock lock = VolumeLock::try_lock(locks_fd, volume);
        if (lock.held())
            return lock;
        // The client went away (its end of the session closed): stop waiting for it.
        struct pollfd p {in_fd, 0, 0};
        if (in_fd >= 0 && ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) && !(p.revents & POLLIN))
            throw Error(ECONNABORTED, fmt::format("volume '{}': the client left while waiting for the lock", volume));
        if (stop_requested)
            throw Error(ECANCELED, fmt::format("volume '{}': stopped while waiting for the lock", volume));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw Busy(fmt::format("volume '{}' is locked by another operation (for 30 s now)", volume));
}

UniqueFd open_locks(const PoolPaths& paths)
{
    return open_dir_at(AT_FDCWD, (paths.state / "locks").c_str(), (paths.state / "locks").native(), false);
}

void check_volume(const replication::ServeRequest& req, const SnapshotName& sn)
{
    if (sn.volume != req.volume)
        throw InvalidArgument(fmt::format("refusing to receive '{}': this session receives volume '{}'", sn.str(),
                                          req.volume));
}

int run_request(Pool& pool, const replication::ServeRequest& req, int in_fd, int out_fd, int err_fd)
{
    using replication::Verb;
    const PoolPaths& paths = pool.paths();
    ReceiveOptions ropts;
    ropts.cancel = [] { return stop_requested.load(); };
    switch (req.verb) {
    case Verb::List:
        replication::write_all(out_fd, replication::format_listing(paths, replication::local_snapshots(pool, req.volume)));
        return 0;
    case Verb::Receive: {
        std::string result;
        {
            UniqueFd locks = open_locks(paths);
            // The listing needs no lock; the sender reads it before it sends (and sees a
            // send to its own pool from its own UUIDs, before it would wait for this lock).
            replication::write_all(out_fd,
                                 replication::format_listing(paths, replication::local_snapshots(pool, req.volume)));
            VolumeLock lock = lock_volume(locks.get(), req.volume, in_fd);
            auto got = replication::receive_one_snapshot(
                paths, in_fd, [&](const SnapshotName& sn) { check_volume(req, sn); }, ropts);
            result = got.empty ? "nothing\n" : fmt::format("{}\t{}\n", got.present ? "present" : "received", got.name);
        }
        pool.snapshots(req.volume); // recounts, now that the lock is free
        replication::write_all(out_fd, result);
        return 0;
    }
    case Verb::Send: {
        UniqueFd locks = open_locks(paths);
        VolumeLock lock = lock_volume(locks.get(), req.volume);
        SendOptions sopts;
        for (const auto* n : {&req.snapshot, req.parent ? &*req.parent : nullptr}) {
            if (n && !pool.find_snapshot(*n))
                throw NotFound(fmt::format("no snapshot '{}' here", *n));
        }
        if (req.parent)
            sopts.parent = paths.snapshots / *req.parent;
        send_snapshot(paths.snapshots / req.snapshot, out_fd, sopts);
        return 0;
    }
    case Verb::Rsync: {
        if (!pool.has_volume(req.volume))
            throw NotFound(fmt::format("no volume '{}' here", req.volume));
        replication::ChildProcess rsync(req.argv, replication::Stdio::Inherit, replication::Stdio::Inherit,
                                      replication::Stdio::Inherit, in_fd, out_fd);
        return rsync.wait();
    }
    case Verb::BtrfsReceive: {
        std::optional<VolumeLock> lock;
        UniqueFd locks = open_locks(paths);
        auto got = replication::receive_one_snapshot(
            paths, in_fd, [&](const SnapshotName& sn) { lock.emplace(lock_volume(locks.get(), sn.volume)); }, ropts);
        lock.reset();
        if (!got.empty) {
            pool.snapshots(parse_snapshot_name(got.name)->volume);
            // What btrfs receive prints, for a Python sender's logs.
            replication::write_all(err_fd, fmt::format("At subvol {}\n", got.name));
        }
        return 0;
    }
    case Verb::BtrfsDelete:
        pool.remove_snapshot(req.snapshot);
        replication::write_all(out_fd, fmt::format("Delete subvolume '{}'\n", (paths.snapshots / req.snapshot).native()));
        return 0;
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
        replication::write_all(err_fd, fmt::format("buttervolume serve-ssh: refused: {}\n", e.what()));
        return 1;
    }
    try {
        Pool pool(paths);
        int rc = run_request(pool, req, in_fd, out_fd, err_fd);
        log_request(paths, rc == 0 ? "done" : fmt::format("exit {}", rc), command, "");
        return rc;
    } catch (const std::exception& e) {
        log_request(paths, "failed", command, e.what());
        try {
            replication::write_all(err_fd, fmt::format("buttervolume serve-ssh: {}\n", e.what()));
        } catch (...) {
        }
        return 1;
    }
}

} // namespace buttervolume
