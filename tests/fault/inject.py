#!/usr/bin/env python3
# Fault-injection suite: every mutating operation faulted at its syscalls, then the invariants.
"""usage: inject.py [--op NAME]... [--full] [--faults kill,error] [--all-errors] [--error-stride K]
                 [--cap N] [--known ITEMS] [--list] [-v] BUTTERVOLUME_BIN

For each operation (create with each option, remove, snapshot, restore, clone, purge, rm, import,
export, schedule add and delete, plugin Mount and Unmount, a scrape of the TCP metrics port) a
counting run under strace finds the syscalls it makes, from its first touch of the pool root (what
runs before that is the dynamic loader and libc start-up; for plugin requests and scrapes, the
daemon's worker thread serving it: fault_plugin, fault_metrics).
Then for each of the points below, on a fresh pool:
  kill   SIGKILL at the entry of the syscall (strace -e inject=NAME:signal=KILL:when=K)
  error  the syscall fails with ENOSPC, EIO or EROFS (cycling; --all-errors: each of the three),
         never memory management, futexes and the like (fault_trace.NOT_IO)
and afterwards: the next command works and cleans up leftovers, no half-made volume or writable
snapshot, the old or the new content, records agree, and the exit status and message are true to
what happened (exit 0 only when the effect is complete).

Which points (what .ci/run runs, about 900 runs, 30 s on an idle 2-core machine):
  kill   the first and last syscall, and every one that may change the disk or the reply (ioctl,
         write, rename, mkdir, an open that creates, ...: fault_trace.changes_state). A kill at
         any other syscall leaves the same state as one at the next of these, so this reaches
         every state a kill can leave.
  error  every such syscall, and every K-th of the others (reads, stats, directory scans;
         --error-stride K, default 3).
--full runs every point both ways, the whole sweep (about 2800 runs, 90 s idle, several minutes
in a busy CI): `inject.py --full BUTTERVOLUME_BIN`, or `--full --op NAME` for one operation.
--cap N then samples at most N points per operation and fault evenly (first and last always in).

Problems that are known items of issue 12 (--known 1,4,...) are reported but do not fail the run.
Exit status: 0 no other problem, 1 problems, 77 not root. Runs on a loop btrfs removed on exit.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fault_trace  # noqa: E402
from btrfs_env import LoopBtrfs, Pool, run  # noqa: E402
from fault_invariants import Problem, check_pool  # noqa: E402
from fault_judge import judge_cli, scan_label  # noqa: E402
from fault_ops import all_ops  # noqa: E402
from fault_metrics import run_scrape  # noqa: E402
from fault_plugin import run_request  # noqa: E402

# The operations served by the daemon: faulted in its worker thread, not as a command.
DAEMON_RUNNERS = {"plugin": run_request, "metrics": run_scrape}


class Env:
    """The scratch filesystem, the binary, and a fresh pool root per run."""

    def __init__(self, bin_path):
        self.fs = LoopBtrfs("2G")
        self.bin = bin_path
        self.dir = self.fs.dir
        self.mnt = self.fs.mnt
        self.runs = 0
        self.procs = set()
        self.fs.on_close(lambda: [p.kill() for p in list(self.procs)])

    def pool(self, name):
        return Pool(self.bin, os.path.join(self.mnt, name))

    def new_pool(self):
        self.runs += 1
        return self.pool(f"r{self.runs}")


def cli_run(env, op, point, fault):
    """One faulted CLI run on a fresh pool: (its problems, whether the fault landed)."""
    pool = env.new_pool()
    trace = os.path.join(env.dir, "run.trace")
    try:
        ctx = op.setup(pool)
        status, out, err = run(fault_trace.cli_prefix(point, fault, trace) + op.argv(pool, ctx), timeout=30)
        hit = fault_trace.landed(trace)
        view, problems = check_pool(pool, scan_label(point, fault))
        if view is None:
            return problems, hit
        state, why = op.classify(pool, ctx, view)
        problems += judge_cli(op, point, fault, status, out, err, state, why)
        if status == 0 and state == "new" and not any(p.kind == "exit0-lost-output" for p in problems):
            problems += [Problem("output", m, "13" if m.startswith("item 13") else None)
                         for m in op.stdout_problems(pool, ctx, out, view)]
        return problems, hit
    finally:
        pool.remove()


def count_points(env, op):
    """The undisturbed run: it must succeed and be seen as 'new'; a fresh pool must be 'old'."""
    trace = os.path.join(env.dir, f"{op.name}.trace")
    if op.kind in DAEMON_RUNNERS:
        problems = DAEMON_RUNNERS[op.kind](env, op, None, None, trace)
        if problems:
            raise RuntimeError(f"{op.name}: the undisturbed request fails the checks: {problems[0]}")
        return fault_trace.parse(trace, busiest=True)
    pool = env.new_pool()
    try:
        ctx = op.setup(pool)
        view, problems = check_pool(pool)
        if problems or op.classify(pool, ctx, view)[0] != "old":
            raise RuntimeError(f"{op.name}: a freshly set-up pool is not seen as 'old': {problems}")
        status, out, err, points = fault_trace.count_cli(op.argv(pool, ctx), trace, pool.root)
        view, problems = check_pool(pool)
        state, why = op.classify(pool, ctx, view) if view else ("broken", "no view")
        if status != 0 or state != "new" or problems:
            raise RuntimeError(f"{op.name}: the undisturbed run failed ({status}, {state} {why}): "
                               f"{err.decode(errors='replace')} {problems}")
        return points
    finally:
        pool.remove()


def plan(points, args):
    """The (point, fault) pairs to run, and notes on what was left out."""
    todo, notes = [], []
    if "kill" in args.faults:
        kills = list(points)
        if not args.full:
            kills = [p for i, p in enumerate(points) if i in (0, len(points) - 1) or fault_trace.changes_state(p)]
            notes.append(f"kill at {len(kills)} of {len(points)} that may change state")
        picked, sampled = fault_trace.sample(kills, args.cap)
        todo += [(p, "KILL") for p in picked]
        if sampled:
            notes.append(f"kill sampled {len(picked)} of {len(kills)}")
    if "error" in args.faults:
        io = [p for p in points if p.name not in fault_trace.NOT_IO]
        errs = io
        if not args.full:
            others = [p for p in io if not fault_trace.changes_state(p)]
            strided = {id(p) for p in others[::args.error_stride]}
            errs = [p for p in io if fault_trace.changes_state(p) or id(p) in strided]
            notes.append(f"error at {len(errs)} of {len(io)}: every state change, every "
                         f"{args.error_stride}th other")
        picked, sampled = fault_trace.sample(errs, args.cap)
        for i, p in enumerate(picked):
            kinds = fault_trace.ERRORS if args.all_errors else [fault_trace.ERRORS[i % len(fault_trace.ERRORS)]]
            todo += [(p, e) for e in kinds]
        if sampled:
            notes.append(f"error sampled {len(picked)} of {len(errs)}")
    return todo, notes


def run_op(env, op, args, known):
    start = time.monotonic()
    op.prepare(env)
    points = count_points(env, op)
    todo, notes = plan(points, args)
    failures = known_hits = missed = 0
    for point, fault in todo:
        if op.kind in DAEMON_RUNNERS:
            trace = os.path.join(env.dir, "run.trace")
            problems = DAEMON_RUNNERS[op.kind](env, op, point, fault, trace)
            hit = fault_trace.landed(trace)
        else:
            problems, hit = cli_run(env, op, point, fault)
        missed += not hit
        for pr in problems:
            is_known = pr.item in known
            known_hits += is_known
            failures += not is_known
            if not is_known or args.verbose:
                print(f"{'KNOWN' if is_known else 'FAIL'} {op.name} {fault} {point.describe()}\n    {pr}", flush=True)
    secs = time.monotonic() - start
    note = f" ({'; '.join(notes)})" if notes else ""
    if missed:
        # The run took another path than the counting run (a retry, another thread first).
        note += f", {missed} runs did not reach their syscall"
    print(f"{op.name}: {len(points)} syscalls, {len(todo)} runs{note}, {failures} problems, "
          f"{known_hits} known, {secs:.0f}s", flush=True)
    return len(todo), failures, known_hits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bin", metavar="BUTTERVOLUME_BIN")
    ap.add_argument("--op", action="append", help="operation to fault (repeatable; default: all)")
    ap.add_argument("--full", action="store_true", help="every point both ways (the whole sweep); "
                                                        "default: the points that can tell (see above)")
    ap.add_argument("--error-stride", type=int, default=3, metavar="K",
                    help="without --full, errors also at every K-th syscall that changes nothing (default 3)")
    ap.add_argument("--faults", default="kill,error", help="kill, error or both (default)")
    ap.add_argument("--all-errors", action="store_true", help="inject each of ENOSPC, EIO, EROFS at every point")
    ap.add_argument("--cap", type=int, default=0, help="at most N points per operation and fault (0: all)")
    ap.add_argument("--known", default="", help="labels (issue-12 items 1-13, new findings N1, N2) whose "
                                                "problems are reported, not failed")
    ap.add_argument("--list", action="store_true", help="list the operations and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="print known problems too")
    args = ap.parse_args()
    if args.error_stride < 1:
        ap.error("--error-stride takes a number >= 1")
    ops = all_ops()
    if args.list:
        print("\n".join(ops))
        return 0
    for name in args.op or []:
        if name not in ops:
            ap.error(f"unknown operation '{name}': one of {', '.join(ops)}")
    known = {i for i in args.known.split(",") if i}
    env = Env(os.path.abspath(args.bin))
    totals = [0, 0, 0]
    try:
        for name in args.op or ops:
            for i, n in enumerate(run_op(env, ops[name], args, known)):
                totals[i] += n
    finally:
        env.fs.close()
    print(f"fault: {totals[0]} runs, {totals[1]} problems, {totals[2]} known (labels "
          f"{args.known or 'none'} tolerated)")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
