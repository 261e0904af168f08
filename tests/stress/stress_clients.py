# The stress test's clients: CLI and plugin workers doing mixed operations on a few volumes, timed.
import json
import random
import threading
import time

from btrfs_env import run
from plugin_client import post

# Errors a client may meet when others race it; anything else is a problem.
EXPECTED_CLI = {
    "create": (),
    "snapshot": ("no such volume",),
    "restore": ("no snapshot to restore", "is mounted", "no such snapshot", "only safety snapshots"),
    "remove": ("no such volume", "it is mounted"),
    "purge": (),
    "rm": ("no such snapshot",),
    "snapshots": (),
}
EXPECTED_PLUGIN = {
    "/VolumeDriver.Create": (),
    "/VolumeDriver.Mount": ("no such volume",),
    "/VolumeDriver.Unmount": (),
    "/VolumeDriver.Get": ("no such volume",),
    "/VolumeDriver.Path": ("no such volume",),
    "/VolumeDriver.List": (),
    "/VolumeDriver.Remove": ("no such volume", "it is mounted"),
}


class Stats:
    """Latencies per operation and the problems seen, shared by every worker."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}
        self.problems = []
        self.counts = {}

    def record(self, what, seconds, ok):
        with self.lock:
            self.latency.setdefault(what, []).append(seconds)
            self.counts[(what, ok)] = self.counts.get((what, ok), 0) + 1

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 200:
                self.problems.append(text)


class CliWorker(threading.Thread):
    def __init__(self, n, pool, volumes, stats, deadline, seed):
        super().__init__(name=f"cli{n}", daemon=True)
        self.pool, self.volumes, self.stats, self.deadline = pool, volumes, stats, deadline
        self.rng = random.Random(seed)

    def bv(self, op, *args):
        start = time.monotonic()
        status, out, err = run(self.pool.argv(*args), timeout=30)
        secs = time.monotonic() - start
        text = err.decode(errors="replace").strip()
        ok = status == 0
        self.stats.record(f"cli {op}", secs, ok)
        if not ok and (status != 1 or not any(e in text for e in EXPECTED_CLI[op])):
            self.stats.problem(f"cli {' '.join(args)}: exit {status}: {text}")
        return ok, out

    def run(self):
        while time.monotonic() < self.deadline:
            v = self.rng.choice(self.volumes)
            op = self.rng.choice(["create", "snapshot", "snapshot", "restore", "remove", "purge", "rm", "snapshots"])
            if op == "create":
                self.bv(op, "create", v)
            elif op in ("snapshot", "restore", "remove"):
                self.bv(op, op, v)
            elif op == "purge":
                self.bv(op, "purge", "1m", v)
            else:
                ok, out = self.bv("snapshots", "snapshots", v, "--json")
                if op == "rm" and ok:
                    names = [s["Name"] for s in json.loads(out)]
                    if names:
                        self.bv("rm", "rm", self.rng.choice(names))


class PluginWorker(threading.Thread):
    """Mounts and unmounts with IDs of its own, so that it knows what it holds mounted."""

    def __init__(self, n, sock, volumes, stats, deadline, seed):
        super().__init__(name=f"plugin{n}", daemon=True)
        self.n, self.sock, self.volumes, self.stats, self.deadline = n, sock, volumes, stats, deadline
        self.rng = random.Random(seed)
        self.held = {}  # (volume, id) -> count
        self.next_id = 0

    def call(self, endpoint, body):
        start = time.monotonic()
        reply = post(self.sock, endpoint, body, timeout=30)
        secs = time.monotonic() - start
        doc = reply.json()
        ok = reply.status == 200 and doc is not None
        self.stats.record(endpoint, secs, ok)
        err = (doc or {}).get("Err", "")
        if not ok and (reply.status != 500 or not any(e in err for e in EXPECTED_PLUGIN[endpoint])):
            self.stats.problem(f"{endpoint} {body}: {reply!r}")
        return ok, doc

    def run(self):
        while time.monotonic() < self.deadline:
            v = self.rng.choice(self.volumes)
            op = self.rng.choice(["mount", "unmount", "get", "list", "create", "remove", "path"])
            # Odd workers only read and create/remove; even ones hold at most one mount ID (twice,
            # now and then) for a short while: volumes are idle often enough to be removed/restored.
            if op in ("mount", "unmount") and self.n % 2:
                op = "get"
            if op == "mount" and self.held:
                op = "unmount"
            if op == "mount":
                # Now and then the same ID again: Docker does that (docker cp on a running container).
                reuse = [k for k in self.held if k[0] == v]
                key = self.rng.choice(reuse) if reuse and self.rng.random() < 0.2 else (v, f"w{self.n}.{self.next_id}")
                self.next_id += 1
                if self.call("/VolumeDriver.Mount", {"Name": key[0], "ID": key[1]})[0]:
                    self.held[key] = self.held.get(key, 0) + 1
            elif op == "unmount" and self.held:
                key = self.rng.choice(sorted(self.held))
                if self.call("/VolumeDriver.Unmount", {"Name": key[0], "ID": key[1]})[0]:
                    self.held[key] -= 1
                    if not self.held[key]:
                        del self.held[key]
            elif op == "list":
                self.call("/VolumeDriver.List", {})
            elif op in ("get", "create", "remove", "path"):
                self.call(f"/VolumeDriver.{op.capitalize()}", {"Name": v})
