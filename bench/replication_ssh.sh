#!/bin/sh
# Replication over ssh on loopback, side by side in one run: `buttervolume send` (native
# sender, serve-ssh receiving) against the Python way `btrfs send | ssh host btrfs receive`,
# on the same ~2 GiB snapshot, then a ~1% incremental change; wall time, stream bytes, CPU on
# both ends (client: the whole command; server: the receiving process, timed by
# /usr/bin/time in the forced command or the remote command line), and the time to learn
# what the remote holds (parent negotiation: one ssh session up to the listing).
# Usage (root): bench/replication_ssh.sh BUILD_DIR [ROUNDS]; SMALL=1 makes the snapshot
# ~120 MiB instead of ~2 GiB, for the negotiation figures alone.
# sshd runs every command, the forced serve-ssh too, through root's shell, and bash started by
# sshd reads ~/.bashrc: the remote host gets Debian's stock root .bashrc
# (/usr/share/base-files/dot.bashrc) in a mount namespace of sshd's own, so a machine's own
# (a pyenv or conda hook costs ~100 ms per session) is not timed as ours. REMOTE_BASHRC=host
# keeps this machine's.
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
rounds=${2:-2}
work=$(mktemp -d /tmp/bv-bench-repl.XXXXXX)
sshd_pid=""
cleanup() {
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
    umount -l "$work/src" 2>/dev/null || true
    umount -l "$work/dst" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
for fs in src dst; do
    truncate -s 10G "$work/$fs.img"
    mkfs.btrfs -q "$work/$fs.img" >/dev/null
    mkdir "$work/$fs"
    mount -o loop "$work/$fs.img" "$work/$fs"
done
A="$work/src/pool"; OURS="$work/dst/ours"; PROGS="$work/dst/progs"
mkdir -p "$A" "$OURS" "$PROGS/snapshots"
"$bin" --root "$A" volumes >/dev/null
"$bin" --root "$OURS" volumes >/dev/null

# sshd on 127.0.0.1 at a free port; two client keys: one forced to serve-ssh, one a plain shell.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/key_ours"
ssh-keygen -q -t ed25519 -N '' -f "$work/key_progs"
timefmt="%e %U %S"
echo "command=\"/usr/bin/time -f '$timefmt' -o $work/remote.time $bin --root $OURS serve-ssh\",restrict $(cat "$work/key_ours.pub")" > "$work/authorized_keys"
cat "$work/key_progs.pub" >> "$work/authorized_keys"
mkdir -p /run/sshd
cat > "$work/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile none
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
CFG
if [ "${REMOTE_BASHRC:-stock}" = host ]; then
    /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
else
    unshare --mount --propagation private sh -c \
        'mount --bind /usr/share/base-files/dot.bashrc /root/.bashrc 2>/dev/null || true; exec "$@"' sh \
        /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
fi
sshd_pid=$!
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" > "$work/known_hosts"
for k in ours progs; do
    cat >> "$work/ssh_config" <<CFG
Host $k
  HostName 127.0.0.1
  Port $port
  User root
  IdentityFile $work/key_$k
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
CFG
done
sleep 0.5

echo "generating the snapshot..." >&2
"$bin" --root "$A" create data >/dev/null
python3 - "$A/volumes/data" "${SMALL:-0}" <<'PY'
import os, random, sys
root = sys.argv[1]
small = sys.argv[2] == "1"
rnd = random.Random(7)
def write(path, size):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20); f.write(os.urandom(n)); left -= n
for i in range(20 if small else 2000):
    write(f"{root}/small/d{i % 40:02d}/f{i:04d}", rnd.randint(1, 64) << 10)
for i in range(120):
    write(f"{root}/medium/m{i:03d}", (1 << 20) if small else (16 << 20))
if not small:
    write(f"{root}/large/l0", 128 << 20)
PY
sync
s1=$("$bin" --root "$A" snapshot data)
# ~1% change: 24 MiB rewritten in place across 24 medium files.
for i in $(seq 0 23); do
    dd if=/dev/urandom of="$A/volumes/data/medium/m$(printf %03d $((i * 5)))" bs=1M count=1 seek=4 conv=notrunc status=none
done
sync
s2=$("$bin" --root "$A" snapshot data)
bytes_full=$(btrfs send -q "$A/snapshots/$s1" | wc -c)
bytes_incr=$(btrfs send -q -p "$A/snapshots/$s1" "$A/snapshots/$s2" | wc -c)

# run NAME CMD...: wall and client CPU of CMD, server CPU from the remote time file.
run() {
    name=$1; shift
    rm -f "$work/remote.time"
    /usr/bin/time -f "$timefmt" -o "$work/local.time" "$@" > "$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r wall lu ls < "$work/local.time"
    read -r rw ru rs < "$work/remote.time"
    echo "$name $wall $(echo "$lu + $ls" | bc) $(echo "$ru + $rs" | bc)"
}
ssh_cfg="-F $work/ssh_config"
ours_send() { "$bin" --root "$A" send --ssh-config "$work/ssh_config" ours "$1" --json; }
clear_dst() {
    for s in "$OURS"/snapshots/data@* "$PROGS"/snapshots/data@*; do
        [ -e "$s" ] && btrfs subvolume delete -c "$s" >/dev/null
    done
    "$bin" --root "$OURS" snapshots data >/dev/null
}
: > "$work/results"
# Each timed run starts after the previous one's writeback (settle: both filesystems synced,
# `sync`, a pause), and the tools take turns going first: run unisolated, whichever ran second
# paid for the first one's writeback. The source is read into the page cache first: cold,
# whichever tool ran first read it from the loop image (a third of a run's CPU went to the
# loop device's reads), and the second found it cached.
# Before that, the clean page cache is dropped: once memory is full of it, the kernel reclaims
# inside whichever process asks next, and the same run's CPU varied twofold between rounds.
isolate() {
    settle 2 "$work/src" "$work/dst"
    echo 3 > /proc/sys/vm/drop_caches
    find "$A/snapshots/$s1" "$A/snapshots/$s2" -type f -exec cat {} + > /dev/null
    sleep 1
}
bench_start
full_ours() { run "full-ours" "$bin" --root "$A" send --ssh-config "$work/ssh_config" ours "$s1" --json >> "$work/results"; cp "$work/out" "$work/json-full-$r"; }
full_pipe() { run "full-pipe" sh -c "btrfs send -q '$A/snapshots/$s1' | ssh $ssh_cfg progs \"/usr/bin/time -f '$timefmt' -o $work/remote.time btrfs receive -q $PROGS/snapshots\"" >> "$work/results"; }
incr_ours() { run "incr-ours" "$bin" --root "$A" send --ssh-config "$work/ssh_config" ours "$s2" --json >> "$work/results"; cp "$work/out" "$work/json-incr-$r"; }
incr_pipe() { run "incr-pipe" sh -c "btrfs send -q -p '$A/snapshots/$s1' '$A/snapshots/$s2' | ssh $ssh_cfg progs \"/usr/bin/time -f '$timefmt' -o $work/remote.time btrfs receive -q $PROGS/snapshots\"" >> "$work/results"; }
for r in $(seq 1 "$rounds"); do
    clear_dst
    isolate
    if [ $((r % 2)) = 1 ]; then
        full_ours; isolate; full_pipe; isolate; incr_ours; isolate; incr_pipe
    else
        full_pipe; isolate; full_ours; isolate; incr_pipe; isolate; incr_ours
    fi
done
# Negotiation alone: a send of a snapshot the remote already holds is one session up to the
# listing. Once connecting anew each time, once sharing a connection (--ssh-persist: the first
# send opens it, the nine after it ride on it); and ssh's own connection for reference. Each
# batch of ten starts isolated.
: > "$work/nego"
: > "$work/nego-shared"
: > "$work/connect"
: > "$work/connect-shared"
isolate
for r in $(seq 1 10); do
    "$bin" --root "$A" send --ssh-config "$work/ssh_config" ours "$s2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NegotiateSeconds"])' >> "$work/nego"
done
isolate
for r in $(seq 1 10); do
    "$bin" --root "$A" send --ssh-config "$work/ssh_config" --ssh-persist 30 ours "$s2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NegotiateSeconds"])' >> "$work/nego-shared"
done
ssh -F "$work/ssh_config" -o "ControlPath=$A/state/ssh/%C" -O exit ours 2>/dev/null || true
isolate
for r in $(seq 1 10); do
    /usr/bin/time -f "%e" -a -o "$work/connect" ssh -F "$work/ssh_config" progs true
done
mux="-o ControlMaster=auto -o ControlPath=$work/mux-%C -o ControlPersist=30"
# shellcheck disable=SC2086 # the options are words
ssh -F "$work/ssh_config" $mux progs true
isolate
for r in $(seq 1 10); do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e" -a -o "$work/connect-shared" ssh -F "$work/ssh_config" $mux progs true
done
# shellcheck disable=SC2086
ssh -F "$work/ssh_config" $mux -O exit progs 2>/dev/null || true
bench_header "SMALL=${SMALL:-0} REMOTE_BASHRC=${REMOTE_BASHRC:-stock} sh bench/replication_ssh.sh ${1:-build} $rounds"
echo "rounds: $rounds, the two ways alternating, each run isolated (previous results deleted, subvolume and filesystem sync of both ends, sync, 2 s pause, clean page cache dropped, source read into it, 1 s pause); medians"
echo "stream bytes: full $bytes_full, incremental $bytes_incr (same for both ways: ours is byte-exact with btrfs send)"
printf "%-10s %10s %14s %14s %12s\n" case wall_s client_cpu_s server_cpu_s MiB/s
for c in full-ours full-pipe incr-ours incr-pipe; do
    w=$(grep "^$c " "$work/results" | cut -d' ' -f2 | median)
    lc=$(grep "^$c " "$work/results" | cut -d' ' -f3 | median)
    rc=$(grep "^$c " "$work/results" | cut -d' ' -f4 | median)
    b=$bytes_full; case $c in incr*) b=$bytes_incr;; esac
    printf "%-10s %10s %14s %14s %12.1f\n" "$c" "$w" "$lc" "$rc" "$(echo "$b / 1048576 / $w" | bc -l)"
done
echo "ours full, incremental (JSON of the last round):"; cat "$work/json-full-$rounds" "$work/json-incr-$rounds"
echo "negotiation (one ssh session to the listing), median of 10: $(median < "$work/nego") s"
echo "negotiation sharing a connection (--ssh-persist), median of sends 2-10: $(tail -n +2 "$work/nego-shared" | median) s (first: $(head -1 "$work/nego-shared") s)"
echo "ssh connection alone ('ssh host true'), median of 10: $(median < "$work/connect") s; sharing one: $(median < "$work/connect-shared") s"
echo "remote root .bashrc: ${REMOTE_BASHRC:-stock}"
