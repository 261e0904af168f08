# The stress test's clients: CLI and plugin workers doing mixed operations on a few volumes, timed;
# scrapes of the TCP metrics port, and hostile clients on that port.
import json
import random
import socket
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


def free_tcp_port():
    """A loopback port nothing listens on now (the kernel's choice for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/metrics", timeout=5.0):
    """GET path on 127.0.0.1:port with Connection: close; (status, body), status 0 when no reply."""
    raw = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            while chunk := s.recv(65536):
                raw += chunk
    except OSError:
        return 0, raw
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        return 0, raw
    return int(head[9:12]), rest


class MetricsScraper(threading.Thread):
    """Scrapes the TCP metrics port as Prometheus does (more often): each must answer in time."""

    def __init__(self, port, stats, deadline, interval=0.2):
        super().__init__(name="scraper", daemon=True)
        self.port, self.stats, self.deadline, self.interval = port, stats, deadline, interval

    def run(self):
        while time.monotonic() < self.deadline:
            start = time.monotonic()
            status, body = http_get(self.port)
            ok = status == 200 and b"buttervolume_requests_total" in body
            self.stats.record("metrics scrape", time.monotonic() - start, ok)
            if not ok:
                self.stats.problem(f"metrics scrape: status {status}: {body[:200]!r}")
            time.sleep(self.interval)


class HostileMetricsClient(threading.Thread):
    """What a stranger on the metrics port can do, in turns: trickle a request a byte at a time,
    open a burst of connections and send nothing, send megabytes of headers, send garbage.
    Records no latency (the scrapes are what must keep answering); a problem only when the
    daemon serves what it must refuse."""

    def __init__(self, n, port, stats, deadline, seed, burst=150):
        super().__init__(name=f"hostile{n}", daemon=True)
        self.port, self.stats, self.deadline, self.burst = port, stats, deadline, burst
        self.rng = random.Random(seed)

    def connect(self):
        s = socket.socket()
        s.settimeout(2.0)
        s.connect(("127.0.0.1", self.port))
        return s

    def trickle(self, seconds):
        with self.connect() as s:
            end = time.monotonic() + seconds
            for c in b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                if time.monotonic() > end:
                    break
                s.send(bytes([c]))
                time.sleep(0.1)

    def idle_burst(self, seconds):
        held = []
        try:
            for _ in range(self.burst):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.port))
                held.append(s)
            time.sleep(seconds)
        finally:
            for s in held:
                s.close()

    def huge_headers(self):
        request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20) + b"\r\n\r\n"
        with self.connect() as s:
            s.sendall(request)
            reply = s.recv(64)
        if reply.startswith(b"HTTP/1.1 200"):
            self.stats.problem("metrics: a request with 4 MiB of headers was served")

    def garbage(self):
        with self.connect() as s:
            s.sendall(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 4096))) + b"\r\n\r\n")
            s.recv(64)

    def run(self):
        while time.monotonic() < self.deadline:
            attack = self.rng.choice([self.trickle, self.idle_burst, self.huge_headers, self.garbage])
            try:
                if attack in (self.trickle, self.idle_burst):
                    attack(self.rng.uniform(1.0, 6.0))
                else:
                    attack()
            except OSError:
                pass  # cut, reset or refused: what the daemon should do to such a client
