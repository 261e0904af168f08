// SPDX-License-Identifier: Apache-2.0
// ChildProcess: a program (ssh, rsync) spawned without a shell, with pipes to its stdio.
#pragma once

#include "base/unique_fd.hpp"

#include <string_view>

#include <sys/types.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace buttervolume {

/// What a child's stdin, stdout or stderr is connected to.
enum class Stdio {
    Inherit, ///< the parent's own
    Pipe,    ///< a pipe the parent reads or writes (stderr: collected by a thread, see error_text)
    Null,    ///< /dev/null
};

/// A running program. The destructor kills (SIGTERM) and reaps a child still running.
/// kill() may be called from another thread while one waits (a StallGuard does).
class ChildProcess {
public:
    /// Spawns argv[0] (searched in PATH) with argv; fd_in/fd_out, when >= 0, are given to the
    /// child as its stdin/stdout instead of `in`/`out`. With own_group, the child leads a new
    /// process group and kill() signals the whole group (rsync and the ssh it runs).
    /// Throws Error when it cannot start.
    ChildProcess(const std::vector<std::string>& argv, Stdio in, Stdio out, Stdio err, int fd_in = -1,
                 int fd_out = -1, bool own_group = false);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// The parent's ends of the pipes (-1 when not piped).
    int stdin_fd() const { return in_.get(); }
    int stdout_fd() const { return out_.get(); }
    void close_stdin() { in_.reset(); }
    void close_stdout() { out_.reset(); }

    /// Waits for the child; returns its exit status, or 128 + the signal that killed it.
    int wait();
    /// Sends sig to the child (its group, with own_group) if it has not been reaped yet (never
    /// to a recycled pid).
    void kill(int sig);
    pid_t pid() const { return pid_; }

    /// What the child wrote on a piped stderr (its last 64 KiB), once wait() returned.
    std::string error_text() const;

private:
    pid_t pid_ = -1;
    bool own_group_ = false;
    int status_ = -1; ///< guarded by state_mutex_: wait() and kill() may run on two threads
    mutable std::mutex state_mutex_;
    UniqueFd in_;
    UniqueFd out_;
    std::thread err_thread_;
    mutable std::mutex err_mutex_;
    std::string err_;
};

/// Reads fd to its end (EINTR retried); throws Error on a read error.
std::string read_to_end(int fd);

/// Reads one line (without the '\n') from fd, byte by byte so that nothing after it is
/// consumed; false at end of input before any byte. Lines longer than max are an Error.
bool read_line(int fd, std::string& line, std::size_t max = 64 * 1024);

/// Writes all of data to fd; throws Error (EPIPE included) on failure.
void write_all(int fd, std::string_view data);

/// The last non-empty line of text, trimmed: the message to quote from a program's stderr.
std::string last_line(std::string_view text);

} // namespace buttervolume
