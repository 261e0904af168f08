# The plugin daemon under test as a child process, and Docker's requests to it over its unix socket.
import json
import os
import signal
import socket
import subprocess
import time


class Reply:
    """One HTTP reply: status 0 when none could be read (closed, reset, timed out)."""

    def __init__(self, status=0, body=b"", error=""):
        self.status = status
        self.body = body
        self.error = error

    def json(self):
        """The body decoded as a JSON object, or None when it is not one."""
        try:
            doc = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    def __repr__(self):
        return f"Reply({self.status}, {self.body[:200]!r}{', ' + self.error if self.error else ''})"


def post(sock_path, endpoint, body, timeout=10.0):
    """POSTs body (a dict or bytes) as Docker's plugin client does, with Connection: close."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode() + b"\n"
    request = (f"POST {endpoint} HTTP/1.1\r\nHost: plugin.moby.localhost\r\nUser-Agent: Go-http-client/1.1\r\n"
               f"Content-Length: {len(data)}\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n"
               f"Connection: close\r\n\r\n").encode() + data
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    raw = b""
    try:
        s.connect(sock_path)
        s.sendall(request)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    except OSError as e:
        return Reply(0, raw, f"{type(e).__name__}: {e}")
    finally:
        s.close()
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        return Reply(0, raw, "no HTTP reply")
    return Reply(int(head[9:12]), rest)


def get_tcp(port, path="/metrics", timeout=10.0):
    """GET path on 127.0.0.1:port as Prometheus does. Status 0 when no whole reply came: closed or
    reset before the head, a body short of its Content-Length (a cut reply), or timed out (error
    "timeout")."""
    raw = b""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: Prometheus/2.45.0\r\n"
                  f"Accept: text/plain;version=0.0.4\r\nConnection: close\r\n\r\n".encode())
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
    except socket.timeout:
        return Reply(0, raw, "timeout")
    except OSError as e:
        return Reply(0, raw, f"{type(e).__name__}: {e}")
    finally:
        s.close()
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1.1 "):
        return Reply(0, raw, "no HTTP reply")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit() and len(rest) < int(value):
            return Reply(0, raw, f"cut: {len(rest)} of {int(value)} bytes of the body")
    return Reply(int(head[9:12]), rest)


class Daemon:
    """`buttervolume --root ROOT run --socket SOCK [EXTRA...]`, stderr to a log file beside the socket."""

    def __init__(self, bin_path, root, sock_path, log_path, wrap=(), extra=()):
        self.sock = sock_path
        self.log_path = log_path
        os.makedirs(os.path.dirname(sock_path), exist_ok=True)
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen([*wrap, bin_path, "--root", root, "run", "--socket", sock_path, *extra],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited at start ({self.proc.returncode}): {self.log()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock_path)
                s.close()
                return
            except OSError:
                time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"the daemon did not listen on {sock_path} within 10 s: {self.log()}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout; returns (exit status or 128+signal, stopped in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        in_time = True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            in_time = False
            self.proc.kill()
            self.proc.wait()
        rc = self.proc.returncode
        return (rc if rc >= 0 else 128 - rc), in_time

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def thread_name(self, tid):
        try:
            with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                return f.read().strip()
        except OSError:
            return None

    def threads(self):
        """{tid: number of the syscall it is blocked in, or None}."""
        out = {}
        task = f"/proc/{self.pid}/task"
        for tid in os.listdir(task):
            try:
                with open(f"{task}/{tid}/syscall") as f:
                    first = f.read().split()[0]
                out[int(tid)] = int(first) if first.lstrip("-").isdigit() else None
            except (OSError, IndexError):
                pass
        return out
