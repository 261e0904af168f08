// SPDX-License-Identifier: Apache-2.0
// posix_spawnp with pipes: no shell ever parses an argument.
#include "base/child_process.hpp"

#include "base/sys.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace buttervolume {

namespace {

constexpr std::size_t max_error_text = 64 * 1024;

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

Pipe make_pipe(const std::string& what)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        throw_errno(fmt::format("{}: pipe", what));
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

} // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, Stdio in, Stdio out, Stdio err, int fd_in,
                           int fd_out, bool own_group)
    : own_group_(own_group)
{
    if (argv.empty())
        throw InvalidArgument("spawn: empty command");
    const std::string what = fmt::format("run {}", argv[0]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    Pipe pin, pout, perr;
    auto connect = [&](Stdio how, int given, int target, Pipe& p, bool child_reads) {
        if (given >= 0) {
            posix_spawn_file_actions_adddup2(&actions, given, target);
        } else if (how == Stdio::Pipe) {
            p = make_pipe(what);
            posix_spawn_file_actions_adddup2(&actions, child_reads ? p.read.get() : p.write.get(), target);
        } else if (how == Stdio::Null) {
            posix_spawn_file_actions_addopen(&actions, target, "/dev/null", child_reads ? O_RDONLY : O_WRONLY, 0);
        }
    };
    connect(in, fd_in, 0, pin, true);
    connect(out, fd_out, 1, pout, false);
    connect(err, -1, 2, perr, false);
    std::vector<char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    // The child starts with default signal dispositions: ssh must die of SIGPIPE/SIGTERM as usual.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (own_group) {
        posix_spawnattr_setpgroup(&attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&attr, flags);
    int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &actions, &attr, cargv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        throw Error(rc, fmt::format("{}: {}", what, std::strerror(rc)));
    }
    in_ = std::move(pin.write);
    out_ = std::move(pout.read);
    if (perr.read) {
        perr.write.reset();
        err_thread_ = std::thread([this, fd = std::move(perr.read)] {
            char buf[4096];
            for (;;) {
                ssize_t n = ::read(fd.get(), buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                std::lock_guard lock(err_mutex_);
                err_.append(buf, static_cast<std::size_t>(n));
                if (err_.size() > 2 * max_error_text)
                    err_.erase(0, err_.size() - max_error_text);
            }
        });
    }
}

ChildProcess::~ChildProcess()
{
    in_.reset();
    out_.reset();
    if (pid_ > 0) {
        kill(SIGTERM);
        wait();
    }
    if (err_thread_.joinable())
        err_thread_.join();
}

int ChildProcess::wait()
{
    {
        std::lock_guard lock(state_mutex_);
        if (status_ >= 0)
            return status_;
    }
    // Wait without reaping first: another thread may kill() meanwhile (a StallGuard), and
    // only a child not yet reaped keeps its pid; the reap happens under the lock kill() takes.
    siginfo_t info{};
    while (::waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    {
        std::lock_guard lock(state_mutex_);
        int st = 0;
        int rc;
        while ((rc = ::waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
        }
        status_ = rc < 0 ? 127 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    // The child is gone, but a grandchild may still hold its stderr: the thread ends when
    // the last writer closes it (ssh's own children exit with it).
    if (err_thread_.joinable())
        err_thread_.join();
    return status_;
}

void ChildProcess::kill(int sig)
{
    std::lock_guard lock(state_mutex_);
    // A zombie leader still holds its group id: the group is reachable until the reap.
    if (pid_ > 0 && status_ < 0)
        ::kill(own_group_ ? -pid_ : pid_, sig);
}

std::string ChildProcess::error_text() const
{
    std::lock_guard lock(err_mutex_);
    return err_.size() > max_error_text ? err_.substr(err_.size() - max_error_text) : err_;
}

std::string read_to_end(int fd)
{
    std::string out;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("read");
        if (n == 0)
            return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

bool read_line(int fd, std::string& line, std::size_t max)
{
    line.clear();
    bool any = false;
    for (;;) {
        char c;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("read");
        if (n == 0)
            return any;
        any = true;
        if (c == '\n')
            return true;
        line += c;
        if (line.size() > max)
            throw Error(EPROTO, "line too long");
    }
}

void write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("write");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string last_line(std::string_view text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.remove_suffix(1);
    auto pos = text.rfind('\n');
    if (pos != std::string_view::npos)
        text.remove_prefix(pos + 1);
    return std::string(text);
}

} // namespace buttervolume
