# Whether a faulted run's exit status, message and resulting state tell the truth about each other.
import re

from fault_invariants import Problem

# Syscalls on the plugin's connection: a fault there can lose the reply itself.
SOCKET_CALLS = {"read", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg", "poll", "ppoll",
                "select", "pselect6", "shutdown", "close", "setsockopt", "getsockopt", "fcntl", "getpeername"}


# Calls that read snapshots/: a failure there must fail the listing, not shorten it.
SCAN_CALLS = {"getdents64", "newfstatat", "statx", "openat", "fcntl", "fstatfs"}

# Findings of this suite beyond issue 12's list, labelled for --known until they are fixed:
#   N1  an operation whose change is complete exits 1 because reading back what it made (or
#       forgetting stale mount counts) failed: create, clone, snapshot, import
#   N2  a failing readdir or stat in snapshots/ is taken for the end of the listing: purge exits 0
#       having deleted nothing or part, and a count record is written from the short listing
NEW_FINDINGS = ("N1", "N2")


def _on_fd(point, fd):
    return point.name in ("write", "writev") and point.line.startswith(f"{point.name}({fd},")


def _done_label(op, text):
    """Which known problem an 'exit 1 although done' is."""
    if "read the send stream" in text:
        return "5"  # a trailing read after a whole stream: the snapshot kept is not named
    if op.name == "export":
        return "1"  # written in place: once a temporary file is renamed on success, this is "old"
    if "write '" in text or ".tmp'" in text:
        return "7"  # the change is made, then writing its record fails
    return "N1"


def judge_cli(op, point, fault, status, out, err, state, why):
    """Problems of one CLI run: status (128+N for a signal), its output, and state from classify()."""
    p = []
    text = err.decode(errors="replace").strip()
    output_fault = _on_fd(point, 1) or _on_fd(point, 2)
    scan_fault = fault != "KILL" and point.name in SCAN_CALLS
    if state == "broken":
        p.append(Problem("broken-state", why, "1" if why.startswith("item 1:") else None))
    if status == 124:
        p.append(Problem("hang", "the command did not finish within its timeout"))
    elif fault == "KILL" and status == 137:
        pass  # killed at the entry of the syscall: any state but broken is right
    elif status > 128:
        label = "4" if _on_fd(point, 2) else None
        p.append(Problem("crash", f"the command died of signal {status - 128}: {text[-200:]}", label))
    elif status == 0:
        if _on_fd(point, 1):
            p.append(Problem("exit0-lost-output", "the write of the result to stdout failed, and it exited 0", "4"))
        elif state != "new":
            p.append(Problem("exit0-incomplete", f"exit 0 but the effect is {state}", "N2" if scan_fault else None))
    elif status == 1:
        # The error is a line of its own (restore reports "restored ..." on stderr first).
        has_error_line = any(line.startswith("buttervolume") for line in text.splitlines())
        if not has_error_line and not _on_fd(point, 2):
            p.append(Problem("silent-failure", f"exit 1 without an error message (stderr {text!r})"))
        # An import that failed after receiving whole streams may keep them when it names them.
        kept_named = "received and kept before the failure" in text
        if state == "new" and not output_fault and not kept_named:
            p.append(Problem("failed-but-done", f"exit 1 ({text[-160:]!r}) but the effect is complete",
                             _done_label(op, text)))
    else:
        p.append(Problem("bad-status", f"unexpected exit status {status}: {text[-200:]}"))
    return p


def scan_label(point, fault):
    """The label of a wrong count record: N2 when the fault hit a scan of snapshots/."""
    return "N2" if fault != "KILL" and point.name in SCAN_CALLS else None


def judge_plugin(op, point, fault, reply, alive, mounts_state):
    """Problems of one plugin request: the reply, whether the daemon lived, and Mounts afterwards."""
    p = []
    doc = reply.json()
    if mounts_state == "broken":
        p.append(Problem("broken-state", "the mount count is neither the old nor the new one"))
    if fault != "KILL" and not alive:
        p.append(Problem("daemon-died", f"an injected {fault} took the daemon down"))
    if reply.status == 200:
        if mounts_state != "new":
            p.append(Problem("ok-incomplete", f"HTTP 200 but the mount count is {mounts_state}"))
    elif reply.status:
        if doc is None or not doc.get("Err"):
            p.append(Problem("non-json-error", f"HTTP {reply.status} without a JSON Err: {reply.body[:160]!r}"))
        if mounts_state == "new":
            p.append(Problem("failed-but-done", f"HTTP {reply.status} {reply.body[:160]!r} but the count changed"))
    elif alive and fault != "KILL" and point.name not in SOCKET_CALLS:
        p.append(Problem("no-reply", f"no reply ({reply.error}) from a daemon that is still running"))
    return p


# One line of the Prometheus text format 0.0.4: a comment (# HELP, # TYPE, or any other), or a
# sample: a metric name, labels, a value, and an optional timestamp.
_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                     r'([-+]?([0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?|Inf)|NaN)( -?[0-9]+)?$')
_TYPE = re.compile(r"^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$")


def exposition_problem(body):
    """Why body is not a whole, valid exposition (text format 0.0.4), or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if not text.endswith("\n"):
        return f"does not end with a newline: ...{text[-80:]!r}"
    for line in text.splitlines():
        if line.startswith("# TYPE") and not _TYPE.match(line):
            return f"bad TYPE line {line[:120]!r}"
        if line and not line.startswith("#") and not _SAMPLE.match(line):
            return f"bad sample line {line[:120]!r}"
    if "\nbuttervolume_requests_total" not in "\n" + text:
        return "no buttervolume_requests_total series"
    return None


def judge_scrape(point, fault, reply, alive):
    """Problems of one faulted scrape: a 200 is a valid exposition; an error status or a closed or
    cut connection is a truthful failure; a wait past the deadline is not."""
    p = []
    if fault != "KILL" and not alive:
        p.append(Problem("daemon-died", f"an injected {fault} took the daemon down"))
    if reply.status == 200:
        why = exposition_problem(reply.body)
        if why:
            p.append(Problem("bad-exposition", f"HTTP 200 but the body is no valid exposition: {why}"))
    elif reply.status == 0 and reply.error == "timeout":
        p.append(Problem("hang", "no reply and no close within the request deadline"))
    elif reply.status == 0 and alive and fault != "KILL" and point.name not in SOCKET_CALLS:
        p.append(Problem("no-reply", f"no reply ({reply.error}) from a daemon that is still running"))
    return p
