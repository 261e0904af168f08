# Faulting one scrape of the TCP metrics port: strace attached to the metrics server's worker thread.
"""As for a plugin request (fault_plugin): the daemon runs with --metrics 127.0.0.1:PORT, fresh for
every run. One Activate on the plugin socket starts the plugin server's worker, then one warm-up
scrape starts the metrics server's; both are bv-http threads, told apart by which came when.
strace attaches to the metrics worker only (never the accept loops, the watchdogs, the plugin
worker), then GET /metrics is sent. Afterwards:
  - the scrape was answered 200 with a whole, valid exposition, or with an error status, or the
    connection was closed or cut; never left waiting past the deadline (DEADLINE)
  - a daemon that was not killed still serves a scrape and a plugin request, and stops on SIGTERM
  - the daemon starts again on the same port and serves a scrape and a plugin request
  - the pool is as it was before the scrape (a scrape changes nothing on disk), and checks out.
"""
import os
import signal
import socket
import subprocess
import time

import fault_trace
from fault_invariants import Problem, check_pool
from fault_judge import exposition_problem, judge_scrape
from fault_plugin import _in_futex, _traced, _wait, _workers
from plugin_client import Daemon, get_tcp, post

# The metrics port's deadlines (daemon/metrics/listener.cpp, http/connections.hpp): 5 s to read a
# request, 10 s to write its reply, cut by a watchdog; a scrape that takes longer hangs.
DEADLINE = 20.0


def free_tcp_port():
    """A loopback port nothing listens on now (the kernel's choice for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fingerprint(root):
    """What a scrape must not change: every entry under the pool root, its type, size and mtime."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            out[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def _diff(before, after):
    changed = sorted(set(before) ^ set(after)) + sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")


def _scrape(port, timeout=DEADLINE, retry=0.0):
    """A scrape; with retry, tried again for that long while the port refuses (still binding)."""
    end = time.monotonic() + retry
    while True:
        reply = get_tcp(port, timeout=timeout)
        if reply.status or "ConnectionRefused" not in reply.error or time.monotonic() >= end:
            return reply
        time.sleep(0.01)


def _serves(daemon_sock, port, when):
    """Problems unless the daemon answers a valid scrape and a plugin Get of v."""
    p = []
    reply = _scrape(port, retry=5)
    why = exposition_problem(reply.body) if reply.status == 200 else f"{reply!r}"
    if why:
        p.append(Problem("next-scrape", f"a scrape {when}: {why}"))
    got = post(daemon_sock, "/VolumeDriver.Get", {"Name": "v"})
    if got.status != 200 or got.json() is None:
        p.append(Problem("next-request", f"Get {when}: {got!r}"))
    return p


def run_scrape(env, op, point, fault, trace_path):
    """One run (a counting one when point is None), traced to trace_path; returns its problems."""
    pool = env.new_pool()
    op.setup(pool)
    sock = os.path.join(env.dir, f"s{env.runs}.sock")
    log = os.path.join(env.dir, "daemon.log")
    port = free_tcp_port()
    extra = ("--metrics", f"127.0.0.1:{port}")
    daemon = Daemon(env.bin, pool.root, sock, log, extra=extra)
    env.procs.add(daemon.proc)
    try:
        if post(sock, "/Plugin.Activate", b"").status != 200:
            raise RuntimeError("setup: Activate failed")
        plugin_workers = _workers(daemon)
        warm = _scrape(port, retry=5)
        if warm.status != 200:
            raise RuntimeError(f"setup: the warm-up scrape failed: {warm!r}")
        tids = _workers(daemon, exclude=plugin_workers)
        before = fingerprint(pool.root)
        tracer = subprocess.Popen(fault_trace.attach_argv(tids, point, fault, trace_path),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait(lambda: all(_traced(t) for t in tids), 5):
            raise RuntimeError("strace did not attach")
        reply = _scrape(port)
        _wait(lambda: all(_in_futex(daemon, t) for t in tids), 2)
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(5)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
        alive = daemon.alive()
        problems = judge_scrape(point, fault, reply, alive)
        if point is None and reply.status != 200:
            problems.append(Problem("no-scrape", f"the undisturbed scrape: {reply!r}"))
        after = fingerprint(pool.root)
        if after != before:
            problems.append(Problem("pool-changed", f"the scrape changed the pool: {_diff(before, after)}"))
        if alive:
            problems += _serves(sock, port, "after the fault")
            rc, in_time = daemon.stop(10)
            if not in_time:
                problems.append(Problem("stop-hang", "the daemon did not stop within 10 s of SIGTERM"))
            elif rc != 0:
                problems.append(Problem("bad-exit", f"the daemon exited {rc} on SIGTERM"))
        return problems + _restart(env, pool, sock, log, port, extra)
    finally:
        daemon.proc.kill()
        daemon.proc.wait()
        env.procs.discard(daemon.proc)
        pool.remove()


def _restart(env, pool, sock, log, port, extra):
    try:
        again = Daemon(env.bin, pool.root, sock, log, extra=extra)
    except RuntimeError as e:
        return [Problem("restart-failed", str(e))]
    env.procs.add(again.proc)
    try:
        problems = _serves(sock, port, "after a restart")
    finally:
        again.stop(10)
        env.procs.discard(again.proc)
    view, generic = check_pool(pool)
    return problems + generic
