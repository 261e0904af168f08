# The stress test's scheduler load: many jobs made due at one tick while the clients run.
import json
import os
import threading
import time


class ScheduleLoad(threading.Thread):
    """Part way through the run, writes a schedule (as a hand edit: a new file renamed into
    place) with a snapshot job for each of its own volumes, a snapshot+purge job for each
    stressed volume (racing the clients' snapshots, purges, restores and removes) and jobs for
    names that are no volume. The daemon ticks every second: every one of these jobs is due at
    its next tick. Later it deletes some of the jobs again with the CLI. check() then tells
    what went wrong."""

    def __init__(self, pool, stressed, count, seconds):
        super().__init__(daemon=True)
        self.pool = pool
        self.own = [f"j{i}" for i in range(count)]
        self.stressed = stressed
        self.ghosts = ["ghost0", "ghost1"]
        self.seconds = seconds
        self.kept = []
        self.problems = []

    def prepare(self):
        """Before the daemon starts: the volumes the jobs snapshot."""
        for v in self.own:
            self.pool.must("create", v)

    def run(self):
        try:
            time.sleep(self.seconds / 4)
            lines = [f"{v},snapshot,60,True" for v in self.own]
            lines += [f"{v},snapshot+purge:1h,60,True" for v in self.stressed]
            lines += [f"{v},snapshot,60,True" for v in self.ghosts]
            config = os.path.join(self.pool.root, "config")
            os.makedirs(config, exist_ok=True)
            tmp = os.path.join(config, ".stress.csv.new")
            with open(tmp, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.rename(tmp, os.path.join(config, "schedule.csv"))
            # Every own job is due at the same tick; with four workers they all run within
            # seconds, not one batch of four per tick.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(self.snapshots_of(v) for v in self.own):
                time.sleep(0.2)
            late = [v for v in self.own if not self.snapshots_of(v)]
            if late:
                self.problems.append(f"scheduler: {len(late)} of {len(self.own)} due jobs had not run after 15 s")
            for v in self.ghosts + self.own[:2]:
                status, _, err = self.pool.bv("schedule", "snapshot", "delete", v)
                if status != 0:
                    self.problems.append(f"schedule snapshot delete {v}: {err.decode(errors='replace').strip()}")
            self.kept = [f"{v},snapshot" for v in self.own[2:]] + [f"{v},snapshot+purge:1h" for v in self.stressed]
        except Exception as e:  # noqa: BLE001 - reported as a problem, not a crash of the run
            self.problems.append(f"scheduler load: {e!r}")

    def snapshots_of(self, volume):
        return [e for e in os.listdir(self.pool.snapshots) if e.startswith(volume + "@")]

    def check(self):
        """After the clients: the listing is valid JSON with every job kept; deleted jobs leave
        no record. After the daemon stopped: no job lock file is left."""
        problems = list(self.problems)
        status, out, err = self.pool.bv("scheduled", "--json")
        if status != 0:
            return problems + [f"scheduled --json failed: {err.decode(errors='replace').strip()}"]
        jobs = json.loads(out.decode("utf-8", "strict"))["Jobs"]
        listed = sorted(f"{j['Volume']},{j['Action']}" for j in jobs)
        if listed != sorted(self.kept):
            problems.append(f"scheduled lists {listed}, expected {sorted(self.kept)}")
        for j in jobs:
            if j["Volume"] in self.own and j["LastResult"] != "ok":
                problems.append(f"job {j['Volume']} {j['Action']}: {j['LastResult']} {j['LastMessage']}")
        runs = os.path.join(self.pool.state, "schedule-runs")
        if os.path.exists(runs):
            keys = [line.split("\t")[0] for line in open(runs, encoding="utf-8").read().splitlines()[1:]]
            gone = [k for k in keys if k not in self.kept]
            if gone:
                problems.append(f"state/schedule-runs keeps the records of deleted jobs: {gone}")
        return problems

    def lock_files(self):
        """Job lock files (to be called once the daemon stopped: none may be left)."""
        folder = os.path.join(self.pool.state, "job-locks")
        left = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        return [f"state/job-locks keeps {len(left)} file(s) after the daemon stopped: {left[:5]}"] if left else []
