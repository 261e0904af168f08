#!/bin/sh
# Fills DIR (a fresh subvolume on btrfs) with every kind of file a send stream carries:
# regular files from empty to beyond 1 GiB (sparse), holes, hardlinks, symlinks (dangling,
# absolute, relative), fifos, sockets, device nodes, xattrs (user.*, security.capability),
# POSIX ACLs, modes, owners, timestamps, reflinks within and across files, compressed files
# (zstd), nocow files, a deep tree and long names. Usage: make_tree.sh DIR
set -eu
cd "$1"
rnd() { head -c "$2" /dev/urandom > "$1"; }
: > empty
printf 'hello world\n' > small
rnd random 1048577
# Beyond the receiver's write-behind window (8 MiB): its write-out starts while it is received.
rnd big 12582913
# Sparse beyond 1 GiB: a few data blocks far apart, the rest holes.
truncate -s 1100M huge_sparse
printf 'start' | dd of=huge_sparse conv=notrunc status=none
printf 'past one gibibyte' | dd of=huge_sparse bs=1 seek=1073741824 conv=notrunc status=none
# Holes in the middle and at the end.
rnd holes 65536
dd if=/dev/urandom of=holes bs=65536 count=2 seek=8 conv=notrunc status=none
truncate -s 2M holes
# Hardlinks, within a directory and across directories.
mkdir -p dir/sub
printf 'linked\n' > dir/target
ln dir/target dir/hard1
ln dir/target dir/sub/hard2
# Symlinks: relative, absolute, dangling.
ln -s ../small dir/rel_link
ln -s /etc/hostname abs_link
ln -s does/not/exist dangling
# Special files.
mkfifo fifo
python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('sock')"
mknod chardev c 1 3
mknod blockdev b 7 200
# Xattrs, capabilities, ACLs.
setfattr -n user.color -v blue small
setfattr -n user.empty small
setfattr -n user.binary -v 0x00ff10 random
printf '\177ELF' > capfile
setcap cap_net_raw+ep capfile
setfacl -m u:1234:rwx,g:4321:r-x dir
setfacl -d -m u:1234:rw- dir
# Modes, owners, timestamps.
printf 'x' > suid && chmod 4755 suid
printf 'x' > sgid && chmod 2711 sgid
mkdir sticky && chmod 1777 sticky
printf 'owned' > owned && chown 1234:5678 owned
chown -h 4321:8765 dangling
touch -d '2001-02-03 04:05:06.123456789' small
touch -h -d '1999-12-31 23:59:59' abs_link
# Reflinks: a whole file, and a range within and across files.
rnd base 524288
cp --reflink=always base base_clone
python3 - <<'PY'
import fcntl, os, struct
FICLONERANGE = 0x4020940d
src = os.open('base', os.O_RDONLY)
dst = os.open('mixed', os.O_RDWR | os.O_CREAT, 0o644)
os.write(dst, os.urandom(262144))
fcntl.ioctl(dst, FICLONERANGE, struct.pack('qQQQ', src, 65536, 131072, 131072))
# Within one file: its first 64 KiB again at 192 KiB.
fcntl.ioctl(dst, FICLONERANGE, struct.pack('qQQQ', dst, 0, 65536, 196608))
PY
# Compressed files (the property makes new files in the folder zstd-compressed).
mkdir compressed
btrfs property set compressed compression zstd
yes 'compressible text, over and over' | head -c 3000000 > compressed/text
rnd compressed/incompressible 200000
# No-COW: the attribute only takes on an empty file.
: > nocow && chattr +C nocow && rnd nocow.tmp 300000 && cat nocow.tmp >> nocow && rm nocow.tmp
# A deep tree and long names.
d=deep; i=0
while [ $i -lt 40 ]; do d="$d/level$i"; i=$((i + 1)); done
mkdir -p "$d" && printf 'bottom\n' > "$d/file"
long=$(printf 'n%.0s' $(seq 1 255))
printf 'long\n' > "$long"
mkdir "d_$(printf 'x%.0s' $(seq 1 250))"
printf 'spaces and\ttabs\n' > 'name with spaces	and tab'
sync
