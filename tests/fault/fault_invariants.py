# What must hold in a pool after any fault: the next command works and cleans up, nothing half-made.
import json
import os
import re

from btrfs_env import is_read_only, is_subvolume

SNAPSHOT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class Problem:
    """One broken invariant; item labels a known one: "1".."13" for issue 12's items, "N1"... for
    findings of this suite beyond them (see fault_judge)."""

    def __init__(self, kind, message, item=None):
        self.kind = kind
        self.message = message
        self.item = item

    def __str__(self):
        return f"[{self.kind}{f', known {self.item}' if self.item else ''}] {self.message}"


def _listing(pool, *args):
    status, out, err = pool.bv(*args, "--json")
    if status != 0:
        return None, Problem("next-command", f"`buttervolume {' '.join(args)} --json` after the fault failed "
                                             f"({status}): {err.decode(errors='replace').strip()}")
    try:
        return json.loads(out), None
    except ValueError as e:
        return None, Problem("next-command", f"`{' '.join(args)} --json` printed invalid JSON: {e}")


def check_pool(pool, count_label=None):
    """Runs the next commands (volumes, snapshots) and checks the pool; (view or None, problems).
    count_label labels a wrong count record (see fault_judge.scan_label)."""
    problems = []
    volumes, p1 = _listing(pool, "volumes")
    snapshots, p2 = _listing(pool, "snapshots")
    problems += [p for p in (p1, p2) if p]
    problems += leftovers(pool)
    problems += visible_entries(pool)
    if snapshots is not None:
        problems += records(pool, snapshots, count_label)
    view = {"volumes": volumes, "snapshots": snapshots} if volumes is not None and snapshots is not None else None
    return view, problems


def leftovers(pool):
    """After a command has opened the pool, no temporary of a dead process is left."""
    out = []
    for d, prefixes in ((pool.volumes, (".tmp.", ".trash.")), (pool.snapshots, (".recv.",))):
        for e in sorted(os.listdir(d)):
            if e.startswith(prefixes):
                out.append(Problem("leftover", f"{os.path.basename(d)}/{e} is left after the next command"))
    for dirpath, _, files in os.walk(pool.state):
        for f in files:
            if f.endswith(".tmp"):
                rel = os.path.relpath(os.path.join(dirpath, f), pool.root)
                out.append(Problem("leftover-state-tmp", f"{rel} is left after the next command", "11"))
    return out


def visible_entries(pool):
    """Every visible volume is a whole subvolume, every snapshot a read-only one."""
    out = []
    for e in os.listdir(pool.volumes):
        p = os.path.join(pool.volumes, e)
        if VOLUME_NAME.match(e) and not is_subvolume(p):
            out.append(Problem("half-made", f"volumes/{e} is visible but is not a subvolume"))
    for e in os.listdir(pool.snapshots):
        p = os.path.join(pool.snapshots, e)
        if not SNAPSHOT_NAME.match(e):
            continue
        if not is_subvolume(p):
            out.append(Problem("half-made", f"snapshots/{e} is visible but is not a subvolume"))
        elif not is_read_only(p):
            out.append(Problem("writable-snapshot", f"snapshots/{e} is writable"))
    return out


def records(pool, snapshots, label=None):
    """state/snapshots/<volume>: a count it holds is the true count; counts parse."""
    out = []
    d = os.path.join(pool.state, "snapshots")
    if not os.path.isdir(d):
        return out
    for vol in os.listdir(d):
        if vol.startswith("."):
            continue
        with open(os.path.join(d, vol)) as f:
            text = f.read()
        m = re.search(r"^count (\d+)$", text, re.M)
        real = sum(1 for s in snapshots if s["Volume"] == vol)
        if m and int(m.group(1)) != real:
            out.append(Problem("count-record", f"state/snapshots/{vol} says count {m.group(1)}, {real} exist", label))
    return out
