#!/bin/sh
# Prints a digest of a directory tree that does not depend on the code under test: every
# entry's type, mode, owner, size, link count, mtime and symlink target; every regular file's
# SHA-256; every xattr (hex, including security.* and POSIX ACLs); the hardlink groups.
# Two trees with equal digests have equal contents, metadata, xattrs and hardlink structure.
# Usage: tree_digest.sh DIR
set -eu
cd "$1"
export LC_ALL=C
echo "== entries"
find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%n|%T@|%l\n' | sed 's/|\([0-9]*\)\.\([0-9]*\)|/|\1.\2|/' | sort
echo "== root"
find . -maxdepth 0 -printf '%y|%m|%U|%G|%n|%T@\n'
echo "== content"
find . -type f -size -65537k -print0 | sort -z | xargs -0 -r sha256sum
# Large (sparse) files: the SHA-256 of their non-zero 64 KiB blocks and offsets, reading only
# the data ranges (SEEK_DATA/SEEK_HOLE), so a 1 GiB hole costs nothing and holes compare equal
# to written zeros.
find . -type f -size +65536k -print0 | sort -z | python3 -c '
import hashlib, os, sys
for name in sys.stdin.buffer.read().split(b"\0"):
    if not name:
        continue
    fd = os.open(name, os.O_RDONLY)
    size = os.fstat(fd).st_size
    h = hashlib.sha256()
    off = 0
    while off < size:
        try:
            data = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        pos = data - data % 65536
        while pos < hole:
            block = os.pread(fd, 65536, pos)
            if block.strip(b"\0"):
                h.update(b"%d:" % pos + block)
            pos += 65536
        off = max(hole, pos)
    os.close(fd)
    print(h.hexdigest(), size, name.decode(errors="replace"))
'
echo "== xattrs"
getfattr -R -P -h -d -m - -e hex . 2>/dev/null | awk '
  /^# file: / { if (f != "") print f "|" a; f = substr($0, 9); a = ""; next }
  /^$/ { next }
  { a = a " " $0 }
  END { if (f != "") print f "|" a }' | sort
echo "== hardlinks"
find . -mindepth 1 ! -type d -links +1 -printf '%i %P\n' | sort -k1,1n -k2 | awk '
  { if ($1 != i) { if (g != "") print g; g = $2; i = $1 } else g = g " " $2 }
  END { if (g != "") print g }' | sort
