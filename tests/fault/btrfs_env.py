# A loop-mounted btrfs scratch filesystem, pool roots on it, and the btrfs ioctls the suites need.
"""Shared by the fault-injection and stress suites (tests/fault, tests/stress).

LoopBtrfs makes a sparse image in a mktemp directory, formats and loop-mounts it, and removes
everything on close(), also when the suite is stopped by SIGTERM/SIGINT (meson's timeout, Ctrl-C).
Nothing is written outside that directory: no fixed paths, no global socket.
"""
import atexit
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile

# linux/btrfs.h: _IOW(0x94, 15, struct btrfs_ioctl_vol_args) and _IOR(0x94, 25, __u64).
BTRFS_IOC_SNAP_DESTROY = 0x5000940F
BTRFS_IOC_SUBVOL_GETFLAGS = 0x80089419
BTRFS_SUBVOL_RDONLY = 1 << 1
BTRFS_FIRST_FREE_OBJECTID = 256


def is_subvolume(path):
    """True when path is the root directory of a btrfs subvolume (never follows a symlink)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return (st.st_mode & 0o170000) == 0o040000 and st.st_ino == BTRFS_FIRST_FREE_OBJECTID


def is_read_only(path):
    """The subvolume's read-only flag."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        buf = fcntl.ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, b"\0" * 8)
    finally:
        os.close(fd)
    return bool(struct.unpack("=Q", buf)[0] & BTRFS_SUBVOL_RDONLY)


def destroy_subvolume(parent, name):
    """Deletes the subvolume parent/name (read-only ones too: we run as root)."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # A mutable buffer: fcntl copies immutable ones through a 1024-byte scratch buffer.
        args = bytearray(struct.pack("=q4088s", 0, name.encode()))
        fcntl.ioctl(fd, BTRFS_IOC_SNAP_DESTROY, args, True)
    finally:
        os.close(fd)


def remove_tree(root):
    """Removes a pool root: its subvolumes (nested ones first), then the rest."""
    if not os.path.lexists(root):
        return
    for dirpath, dirnames, _ in os.walk(root, topdown=False):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p) and is_subvolume(p):
                try:
                    destroy_subvolume(dirpath, d)
                except OSError:
                    pass
    shutil.rmtree(root, ignore_errors=True)


def run(argv, timeout=30, stdin_data=None, env=None):
    """Runs argv in a process group of its own; returns (status, stdout, stderr) with status
    128+N for a signal, 124 on timeout (the whole group killed: strace's tracee too)."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = p.communicate(stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return 124, out, err + b"\n[timed out]"
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return status, out, err


class Pool:
    """A pool root on the scratch filesystem, driven through the buttervolume CLI."""

    def __init__(self, bin_path, root):
        self.bin = bin_path
        self.root = root
        self.volumes = os.path.join(root, "volumes")
        self.snapshots = os.path.join(root, "snapshots")
        self.state = os.path.join(root, "state")
        os.makedirs(root, exist_ok=True)

    def argv(self, *args):
        return [self.bin, "--root", self.root, *args]

    def bv(self, *args, timeout=30, stdin_data=None):
        """Runs `buttervolume --root ROOT ARGS...`: (status, stdout, stderr)."""
        return run(self.argv(*args), timeout, stdin_data)

    def must(self, *args):
        """bv() that must succeed; returns stdout as text."""
        status, out, err = self.bv(*args)
        if status != 0:
            raise RuntimeError(f"setup: buttervolume {' '.join(args)} failed ({status}): {err.decode(errors='replace')}")
        return out.decode()

    def write(self, volume, content, name="data"):
        with open(os.path.join(self.volumes, volume, name), "w") as f:
            f.write(content)

    def read(self, where, name="data"):
        """Content of a file in a volume ("v") or a snapshot ("v@ts"); None when missing."""
        base = self.snapshots if "@" in where else self.volumes
        try:
            with open(os.path.join(base, where, name)) as f:
                return f.read()
        except OSError:
            return None

    def remove(self):
        remove_tree(self.root)


class LoopBtrfs:
    """A fresh btrfs on a sparse image, loop-mounted below a mktemp directory."""

    def __init__(self, size="2G", prefix="bv-fault."):
        if os.geteuid() != 0:
            print(f"SKIP: {sys.argv[0]} needs root (loop-mounted btrfs); CI runs it as root", file=sys.stderr)
            sys.exit(77)
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.mnt = os.path.join(self.dir, "mnt")
        self.cleanups = []
        self.closed = False
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        img = os.path.join(self.dir, "btrfs.img")
        os.mkdir(self.mnt)
        with open(img, "wb") as f:
            f.truncate(_bytes(size))
        for argv in (["mkfs.btrfs", "-q", "-f", img], ["mount", "-o", "loop", img, self.mnt]):
            status, out, err = run(argv, timeout=120)
            if status != 0:
                self.close()
                raise RuntimeError(f"{' '.join(argv)} failed ({status}): {(out + err).decode(errors='replace')}")
        self.mounted = True

    def _on_signal(self, sig, _frame):
        self.close()
        os._exit(128 + sig)

    def on_close(self, fn):
        """Runs fn (stop a daemon, ...) before the filesystem goes."""
        self.cleanups.append(fn)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:  # clean-up must go on
                pass
        # Lazy: a busy mount (a process we could not stop) still goes; the loop device is
        # freed by autoclear when its last user does.
        run(["umount", "-l", self.mnt], timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def _bytes(size):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
