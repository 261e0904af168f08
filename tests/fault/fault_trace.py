# Counting an operation's syscalls with strace, and the strace command lines that fault its N-th one.
"""strace counts injections per thread and per syscall (`when=K` is the K-th call of that syscall in
that thread), not over the whole process. So the N-th syscall of an operation is found in a
counting run first, as (thread, syscall name, K), and faulted with `-e inject=NAME:...:when=K`.
In a single-threaded command that is exactly the N-th syscall; in one with threads (export's
drainer) the first thread to reach its K-th NAME gets it, which is near N.
"""
import re
from dataclasses import dataclass

from btrfs_env import run

# Memory management, futexes and the exit: not I/O, and a failure there is not a fault a user
# meets (an ENOSPC from brk or futex does not happen). close(2) neither: an injected error skips
# the call and leaves the fd open (a pipe then never sees EOF), while Linux always frees the fd.
# They are still SIGKILL points.
NOT_IO = {"close",
    "brk", "mmap", "munmap", "mprotect", "madvise", "mremap", "futex", "exit_group", "exit",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "set_robust_list", "rseq",
    "getpid", "gettid", "getuid", "geteuid", "clock_gettime", "restart_syscall", "sched_yield",
    "prlimit64", "clone", "clone3", "set_tid_address", "arch_prctl", "sysinfo", "getrandom",
}

ERRORS = ("ENOSPC", "EIO", "EROFS")

# Syscalls that change nothing a later command or the client can see: not the disk, not what was
# sent. A SIGKILL at the entry of one of them leaves the same state as a SIGKILL at the entry of the
# next syscall that is not (or at the end), so killing at those entries alone reaches every state a
# kill can leave. Anything not listed counts as changing state (ioctl, write, rename, mkdir, ...).
NO_EFFECT = NOT_IO | {
    "read", "pread64", "readv", "preadv", "newfstatat", "fstat", "stat", "lstat", "statx",
    "fstatfs", "statfs", "getdents64", "lseek", "fcntl", "flock", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "fgetxattr", "getxattr", "lgetxattr", "flistxattr",
    "listxattr", "llistxattr", "poll", "ppoll", "select", "pselect6", "recvfrom", "recvmsg",
    "getsockname", "getpeername", "getsockopt", "getcwd", "uname", "rt_sigtimedwait", "nanosleep",
    "clock_nanosleep", "dup", "dup2", "dup3",
}
OPEN_CALLS = {"open", "openat", "openat2"}
OPEN_WRITES = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_TMPFILE")


def changes_state(point):
    """Whether the syscall at point may change the disk or what the client is sent (see NO_EFFECT);
    an open counts when it may create, truncate or write."""
    if point.name in OPEN_CALLS:
        return any(flag in point.line for flag in OPEN_WRITES)
    return point.name not in NO_EFFECT

LINE = re.compile(r"^(?:(\d+)\s+)?([a-z_][a-z_0-9]*)\(")


@dataclass
class Point:
    """One syscall entry of an operation: the N-th (1-based, from the operation's start)."""

    n: int
    tid: int
    name: str
    k: int  # this syscall's ordinal in its thread, counted from the thread's first syscall
    line: str

    def describe(self):
        return f"N={self.n} {self.name}#{self.k}: {self.line[:140]}"


def parse(trace_path, start_marker=None, busiest=False):
    """The syscall entries of a trace, from the first line that contains start_marker; with
    busiest, only those of the thread that made the most."""
    seen = {}
    points = []
    started = start_marker is None
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            tid = int(m.group(1) or 0)
            name = m.group(2)
            k = seen[(tid, name)] = seen.get((tid, name), 0) + 1
            # The marker is in execve's argv too: start at the first use after it.
            if not started and name != "execve" and start_marker in line:
                started = True
            if started:
                text = line[m.start(2):].rstrip("\n")
                points.append(Point(len(points) + 1, tid, name, k, text))
    if busiest and points:
        counts = {}
        for p in points:
            counts[p.tid] = counts.get(p.tid, 0) + 1
        top = max(counts, key=counts.get)
        points = [p for p in points if p.tid == top]
        for i, p in enumerate(points):
            p.n = i + 1
    return points


def count_cli(argv, trace_path, start_marker, stdin_data=None, timeout=60):
    """Runs argv under strace -f once, undisturbed; returns (status, its syscalls from the marker)."""
    status, out, err = run(["strace", "-f", "-qq", "-s", "48", "-o", trace_path, *argv], timeout, stdin_data)
    return status, out, err, parse(trace_path, start_marker)


def sample(points, cap):
    """At most cap points, evenly spread, the first and last always in; (points, was_sampled)."""
    if cap <= 0 or len(points) <= cap:
        return list(points), False
    step = (len(points) - 1) / (cap - 1)
    picked = sorted({round(i * step) for i in range(cap)})
    return [points[i] for i in picked], True


def inject_spec(point, fault):
    """The -e inject= value: fault is 'KILL' or an errno name."""
    action = "signal=KILL" if fault == "KILL" else f"error={fault}"
    return f"inject={point.name}:{action}:when={point.k}"


def cli_prefix(point, fault, trace_path):
    """strace arguments that run a command and fault it at point, logging that syscall to trace_path."""
    # --seccomp-bpf stops the tracee only at the traced syscall (5x faster), but strace 6.1 then
    # delivers no injected signal: the kill runs go without it.
    fast = [] if fault == "KILL" else ["--seccomp-bpf"]
    return ["strace", "-f", "-qq", *fast, "-o", trace_path, "-e", f"trace={point.name}",
            "-e", inject_spec(point, fault)]


def landed(trace_path):
    """Whether the fault of a run was injected (strace marks it in the trace)."""
    with open(trace_path, errors="replace") as f:
        text = f.read()
    return "(INJECTED)" in text or "(INJECTED" in text or "killed by SIGKILL" in text


def attach_argv(tids, point=None, fault=None, trace_path="/dev/null"):
    """strace arguments that attach to some threads: count (no point) or fault them at point."""
    argv = ["strace", "-qq", "-s", "48", "-o", trace_path, *[a for t in tids for a in ("-p", str(t))]]
    if point:
        argv[1:1] = ["-e", f"trace={point.name}", "-e", inject_spec(point, fault)]
    return argv
