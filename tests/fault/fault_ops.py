# The mutating operations the fault suite breaks: how to set each up, run it, and tell old from new.
"""Each operation sets up a fresh pool, names the command (or plugin request) under test, and
classifies what a user sees afterwards (after the next command has opened the pool):

  ("old", "")      nothing happened
  ("new", "")      the whole effect is there
  ("partial", "")  a purge that deleted some of its snapshots: each one is whole or gone
  ("broken", why)  anything else: a half-made volume, lost content, a destroyed file
"""
import os

from btrfs_env import run

DATA_A = "content A\n"
DATA_B = "content B\n"
OLD_BACKUP = b"yesterday's good backup\n"


def listed(view, kind, name):
    for item in view[kind]:
        if item["Name"] == name:
            return item
    return None


def snaps_of(view, volume):
    return [s for s in view["snapshots"] if s["Volume"] == volume]


class Op:
    kind = "cli"
    stdin_file = None

    def __init__(self, name):
        self.name = name

    def prepare(self, env):
        """Once per operation, before any run (e.g. the stream that import reads)."""

    def stdout_problems(self, pool, ctx, out, view):
        return []


class Create(Op):
    def __init__(self, name, opts, expect):
        super().__init__(name)
        self.opts = opts
        self.expect = expect

    def setup(self, pool):
        pool.must("volumes")
        if any(o.startswith("from=") for o in self.opts):
            pool.must("create", "src")
            pool.write("src", DATA_A)
            snap = pool.must("snapshot", "src").strip()
            return {"from": snap}
        return {}

    def argv(self, pool, ctx):
        opts = [o.replace("@SNAP", ctx.get("from", "")) for o in self.opts]
        return pool.argv("create", "v", *[a for o in opts for a in ("-o", o)])

    def classify(self, pool, ctx, view):
        v = listed(view, "volumes", "v")
        if v is None:
            if os.path.lexists(os.path.join(pool.volumes, "v")):
                return "broken", "volumes/v exists but is not listed as a volume"
            return "old", ""
        for key, want in self.expect.items():
            if v.get(key) != want:
                return "broken", f"volume v exists with {key}={v.get(key)!r}, asked {want!r}"
        if any(o.startswith("from=") for o in self.opts) and pool.read("v") != DATA_A:
            return "broken", f"clone v exists without its source's content (data={pool.read('v')!r})"
        return "new", ""

    def stdout_problems(self, pool, ctx, out, view):
        return [] if out == b"v\n" else [f"stdout {out!r}, expected the volume name"]


class Remove(Op):
    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        return {"snap": pool.must("snapshot", "v").strip()}

    def argv(self, pool, ctx):
        return pool.argv("remove", "v")

    def classify(self, pool, ctx, view):
        if listed(view, "snapshots", ctx["snap"]) is None:
            return "broken", f"the volume's snapshot {ctx['snap']} is gone (remove keeps snapshots)"
        if listed(view, "volumes", "v") is None:
            return ("broken", "volumes/v is left, not a volume") if os.path.lexists(
                os.path.join(pool.volumes, "v")) else ("new", "")
        return ("old", "") if pool.read("v") == DATA_A else ("broken", f"v lost its content: {pool.read('v')!r}")

    def stdout_problems(self, pool, ctx, out, view):
        return [] if out == b"v\n" else [f"stdout {out!r}, expected the volume name"]


class Snapshot(Op):
    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        return {}

    def argv(self, pool, ctx):
        return pool.argv("snapshot", "v")

    def classify(self, pool, ctx, view):
        snaps = snaps_of(view, "v")
        if pool.read("v") != DATA_A:
            return "broken", f"v lost its content: {pool.read('v')!r}"
        if not snaps:
            return "old", ""
        if len(snaps) > 1:
            return "broken", f"{len(snaps)} snapshots from one command"
        if pool.read(snaps[0]["Name"]) != DATA_A:
            return "broken", f"snapshot {snaps[0]['Name']} lacks the volume's content"
        return "new", ""

    def stdout_problems(self, pool, ctx, out, view):
        names = [s["Name"] for s in snaps_of(view, "v")]
        return [] if out.decode(errors="replace").strip() in names and out.endswith(b"\n") else [
            f"stdout {out!r} does not name the snapshot made ({names})"]


class Restore(Op):
    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        snap = pool.must("snapshot", "v").strip()
        pool.write("v", DATA_B)
        return {"snap": snap}

    def argv(self, pool, ctx):
        return pool.argv("restore", ctx["snap"])

    def classify(self, pool, ctx, view):
        if listed(view, "volumes", "v") is None:
            return "broken", "volume v is gone: a restore must never lose the volume"
        if pool.read(ctx["snap"]) != DATA_A:
            return "broken", f"the restored snapshot {ctx['snap']} lost its content"
        data = pool.read("v")
        if data == DATA_B:
            return "old", ""
        if data != DATA_A:
            return "broken", f"v has neither the old nor the new content: {data!r}"
        safety = [s for s in snaps_of(view, "v") if s["Name"] != ctx["snap"] and pool.read(s["Name"]) == DATA_B]
        return ("new", "") if safety else ("broken", "v was replaced but no snapshot keeps its old content")

    def stdout_problems(self, pool, ctx, out, view):
        safety = [s["Name"] for s in snaps_of(view, "v") if s["Safety"]]
        return [] if out.decode(errors="replace").strip() in safety else [
            f"stdout {out!r} does not name the safety snapshot ({safety})"]


class Clone(Op):
    def setup(self, pool):
        pool.must("create", "src")
        pool.write("src", DATA_A)
        return {}

    def argv(self, pool, ctx):
        return pool.argv("clone", "src", "t")

    def classify(self, pool, ctx, view):
        if pool.read("src") != DATA_A:
            return "broken", "the clone's source lost its content"
        if listed(view, "volumes", "t") is None:
            return ("broken", "volumes/t is left, not a volume") if os.path.lexists(
                os.path.join(pool.volumes, "t")) else ("old", "")
        return ("new", "") if pool.read("t") == DATA_A else ("broken", f"clone t lacks the content: {pool.read('t')!r}")

    def stdout_problems(self, pool, ctx, out, view):
        return [] if out == b"t\n" else [f"stdout {out!r}, expected the clone's name"]


class Purge(Op):
    OLD = [f"v@2020-01-0{d}T00:00:00.000000" for d in (1, 2, 3)]

    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        for old in self.OLD:
            made = pool.must("snapshot", "v").strip()
            os.rename(os.path.join(pool.snapshots, made), os.path.join(pool.snapshots, old))
        return {"newest": pool.must("snapshot", "v").strip()}

    def argv(self, pool, ctx):
        return pool.argv("purge", "1h", "v")

    def classify(self, pool, ctx, view):
        if listed(view, "snapshots", ctx["newest"]) is None:
            return "broken", "purge deleted the newest snapshot"
        left = [o for o in self.OLD if listed(view, "snapshots", o)]
        for o in left:
            if pool.read(o) != DATA_A:
                return "broken", f"snapshot {o} is listed but lost its content"
        return ("old", "") if len(left) == 3 else ("new", "") if not left else ("partial", "")

    def stdout_problems(self, pool, ctx, out, view):
        text = out.decode(errors="replace")
        missing = [o for o in self.OLD if f"deleted  {o}" not in text]
        return [f"stdout does not report {missing} deleted: {text!r}"] if missing else []


class Rm(Op):
    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        return {"snap": pool.must("snapshot", "v").strip()}

    def argv(self, pool, ctx):
        return pool.argv("rm", ctx["snap"])

    def classify(self, pool, ctx, view):
        if listed(view, "snapshots", ctx["snap"]) is None:
            return ("broken", "snapshots/ keeps an unlisted entry") if os.path.lexists(
                os.path.join(pool.snapshots, ctx["snap"])) else ("new", "")
        return ("old", "") if pool.read(ctx["snap"]) == DATA_A else ("broken", "the snapshot lost its content")

    def stdout_problems(self, pool, ctx, out, view):
        return [] if out.decode(errors="replace") == ctx["snap"] + "\n" else [f"stdout {out!r}"]


class Import(Op):
    def prepare(self, env):
        # The stream comes from a pool of its own, so the name it carries is new to every run.
        src = env.pool("import-source")
        src.must("create", "src")
        src.write("src", DATA_A)
        self.snap = src.must("snapshot", "src").strip()
        self.stream = os.path.join(env.mnt, "import.stream")
        src.must("export", self.snap, "-o", self.stream)

    def setup(self, pool):
        pool.must("volumes")
        return {}

    def argv(self, pool, ctx):
        return pool.argv("import", "-i", self.stream)

    def classify(self, pool, ctx, view):
        s = listed(view, "snapshots", self.snap)
        if s is None:
            return ("broken", "snapshots/ keeps an unlisted entry") if os.path.lexists(
                os.path.join(pool.snapshots, self.snap)) else ("old", "")
        if not s["ReceivedUUID"] or pool.read(self.snap) != DATA_A:
            return "broken", f"received snapshot incomplete: ReceivedUUID={s['ReceivedUUID']} data={pool.read(self.snap)!r}"
        return "new", ""

    def stdout_problems(self, pool, ctx, out, view):
        return [] if out.decode(errors="replace") == self.snap + "\n" else [f"stdout {out!r}"]


class Export(Op):
    """Exports over an existing file: the old backup must survive a failed export (item 1)."""

    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        out = os.path.join(pool.root, "backup.stream")
        with open(out, "wb") as f:
            f.write(OLD_BACKUP)
        return {"snap": pool.must("snapshot", "v").strip(), "out": out}

    def argv(self, pool, ctx):
        return pool.argv("export", ctx["snap"], "-o", ctx["out"])

    def classify(self, pool, ctx, view):
        try:
            with open(ctx["out"], "rb") as f:
                data = f.read()
        except OSError as e:
            return "broken", f"item 1: the output file is gone: {e}"
        if data == OLD_BACKUP:
            return "old", ""
        status, _, _ = run(pool.argv("dump-stream", "-i", ctx["out"]))
        if status == 0:
            return "new", ""
        return "broken", f"item 1: the old backup was destroyed and the file holds no whole stream ({len(data)} bytes)"

    def stdout_problems(self, pool, ctx, out, view):
        mode = os.stat(ctx["out"]).st_mode & 0o777
        return [] if mode == 0o600 else [f"item 13: the stream file has mode {mode:o}, not 600"]


class Schedule(Op):
    """`schedule ACTION TIMER VOLUME`: config/schedule.csv rewritten whole, the old file or the new."""
    OLD = "v,snapshot,60,True\n"

    def __init__(self, name, args, new):
        super().__init__(name)
        self.args = args
        self.new = new

    def setup(self, pool):
        pool.must("create", "v")
        pool.must("schedule", "snapshot", "60", "v")
        return {}

    def argv(self, pool, ctx):
        return pool.argv("schedule", *self.args)

    def classify(self, pool, ctx, view):
        try:
            with open(os.path.join(pool.root, "config", "schedule.csv")) as f:
                text = f.read()
        except OSError as e:
            return "broken", f"config/schedule.csv cannot be read: {e}"
        if text == self.OLD:
            return "old", ""
        if text == self.new:
            return "new", ""
        return "broken", f"config/schedule.csv holds {text!r}"


class PluginCall(Op):
    """Mount or Unmount through the daemon; for Unmount the runner first mounts c1 once."""

    kind = "plugin"

    def __init__(self, name, endpoint, premount):
        super().__init__(name)
        self.endpoint = endpoint
        self.premount = premount
        self.before = 1 if premount else 0
        self.after = 0 if premount else 1

    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        return {}

    def request(self, ctx):
        return self.endpoint, {"Name": "v", "ID": "c1"}

    def classify_mounts(self, mounts):
        return "old" if mounts == self.before else "new" if mounts == self.after else "broken"


class MetricsScrape(Op):
    """GET /metrics on the daemon's TCP metrics port (fault_metrics): a read of counters, no change."""

    kind = "metrics"

    def setup(self, pool):
        pool.must("create", "v")
        pool.write("v", DATA_A)
        return {}


def all_ops():
    """Every operation, by name, in the order the suite runs them."""
    ops = [
        Create("create", [], {"CopyOnWrite": True, "Compression": None, "SizeLimit": None}),
        Create("create-size", ["size=64M"], {"SizeLimit": 64 << 20}),
        Create("create-nocow", ["copyonwrite=false"], {"CopyOnWrite": False}),
        Create("create-compression", ["compression=zstd"], {"Compression": "zstd"}),
        Create("create-from", ["from=src"], {}),
        Create("create-from-snapshot", ["from=@SNAP"], {}),
        Remove("remove"), Snapshot("snapshot"), Restore("restore"), Clone("clone"), Purge("purge"),
        Rm("rm"), Import("import"), Export("export"),
        Schedule("schedule-add", ["purge:1d", "60", "v"], Schedule.OLD + "v,purge:1d,60,True\n"),
        Schedule("schedule-delete", ["snapshot", "delete", "v"], ""),
        PluginCall("plugin-mount", "/VolumeDriver.Mount", False),
        PluginCall("plugin-unmount", "/VolumeDriver.Unmount", True),
        MetricsScrape("metrics-scrape"),
    ]
    return {op.name: op for op in ops}
