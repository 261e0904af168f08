# Faulting one plugin request: strace attached to the daemon thread that serves it, not the daemon.
"""The daemon is started fresh for every run and sent one warm-up request, so that exactly one
worker thread exists and idles in futex(2); strace attaches to that thread only (its syscall
counts start there, the accept loop and the signal thread are never faulted), then the request
under test is sent. Afterwards the daemon must stop on SIGTERM, start again, and answer Get.
"""
import os
import signal
import subprocess
import time

import fault_trace
from fault_invariants import Problem, check_pool
from fault_judge import judge_plugin
from plugin_client import Daemon, post

SYS_FUTEX = 202  # x86_64
SYS_RT_SIGTIMEDWAIT = 128


# x86_64 syscall numbers of a thread blocked in accept (the server's listening thread).
SYS_ACCEPT = 43
SYS_ACCEPT4 = 288


def _wait(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.002)
    return pred()


def _workers(daemon, exclude=()):
    """The idle worker threads (blocked in futex; not the main or the signal thread). More than one
    when a connection came before the first worker was idle again; any of them may serve next.
    Those in exclude (another server's workers, also bv-http) must be idle too, and are left out."""
    found = []

    def idle():
        # Since the Service, the main thread waits for signals and a thread of its own accepts
        # (bv-accept, in poll). The server's connection watchdog (bv-watchdog) waits in futex too,
        # and is no worker.
        others = {t: nr for t, nr in daemon.threads().items()
                  if t != daemon.pid and nr not in (SYS_RT_SIGTIMEDWAIT, SYS_ACCEPT, SYS_ACCEPT4)
                  and daemon.thread_name(t) not in ("bv-watchdog", "bv-accept")}
        found[:] = [t for t, nr in others.items() if nr == SYS_FUTEX and t not in exclude]
        return found and all(nr == SYS_FUTEX for nr in others.values())
    if not _wait(idle, 5):
        raise RuntimeError(f"no idle worker thread in the daemon: {daemon.threads()}")
    return found


def _traced(tid):
    try:
        with open(f"/proc/{tid}/status") as f:
            return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)
    except OSError:
        return True  # gone: killed at once


def _in_futex(daemon, tid):
    if not daemon.alive():
        return True
    return daemon.threads().get(tid) == SYS_FUTEX


def run_request(env, op, point, fault, trace_path):
    """One run (a counting one when point is None), traced to trace_path; returns its problems."""
    pool = env.new_pool()
    ctx = op.setup(pool)
    sock = os.path.join(env.dir, f"s{env.runs}.sock")
    log = os.path.join(env.dir, "daemon.log")
    daemon = Daemon(env.bin, pool.root, sock, log)
    env.procs.add(daemon.proc)
    try:
        if op.premount and post(sock, "/VolumeDriver.Mount", {"Name": "v", "ID": "c1"}).status != 200:
            raise RuntimeError("setup: the first Mount failed")
        if post(sock, "/Plugin.Activate", b"").status != 200:
            raise RuntimeError("setup: Activate failed")
        tids = _workers(daemon)
        tracer = subprocess.Popen(fault_trace.attach_argv(tids, point, fault, trace_path),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait(lambda: all(_traced(t) for t in tids), 5):
            raise RuntimeError("strace did not attach")
        endpoint, body = op.request(ctx)
        reply = post(sock, endpoint, body, timeout=10)
        _wait(lambda: all(_in_futex(daemon, t) for t in tids), 2)
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(5)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
        alive = daemon.alive()
        return _after(env, op, point, fault, pool, daemon, sock, log, reply, alive)
    finally:
        daemon.proc.kill()
        daemon.proc.wait()
        env.procs.discard(daemon.proc)
        pool.remove()


def _after(env, op, point, fault, pool, daemon, sock, log, reply, alive):
    problems = []
    if alive:
        rc, in_time = daemon.stop(10)
        if not in_time:
            problems.append(Problem("stop-hang", "the daemon did not stop within 10 s of SIGTERM"))
        elif rc != 0:
            problems.append(Problem("bad-exit", f"the daemon exited {rc} on SIGTERM"))
    try:
        again = Daemon(env.bin, pool.root, sock, log)
    except RuntimeError as e:
        return problems + [Problem("restart-failed", str(e))]
    env.procs.add(again.proc)
    try:
        got = post(sock, "/VolumeDriver.Get", {"Name": "v"})
        doc = got.json()
        if got.status != 200 or doc is None:
            return problems + [Problem("next-request", f"Get after the fault: {got!r}")]
        mounts = doc["Volume"]["Status"]["Mounts"]
        state = op.classify_mounts(mounts)
        problems += judge_plugin(op, point, fault, reply, alive, state)
        if post(sock, "/VolumeDriver.Unmount", {"Name": "v", "ID": "c1"}).status != 200:
            problems.append(Problem("next-request", "Unmount after the fault failed"))
    finally:
        again.stop(10)
        env.procs.discard(again.proc)
    view, generic = check_pool(pool)
    return problems + generic
