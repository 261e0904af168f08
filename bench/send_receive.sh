#!/bin/sh
# Native send/receive against btrfs-progs, side by side in one run, on the same snapshot of
# about 2 GiB of mixed files (small, medium, large, compressible) on a fresh loop-mounted btrfs:
#   receive: `buttervolume import` vs `btrfs receive` of the same stream, each timed with its
#            sync, the stream on a tmpfs
#   send:    `buttervolume export` vs `btrfs send`, into a pipe
#   incremental send of a ~1% change: bytes on the wire against bytes changed
#   peak memory (max RSS) of each receive
# Every timed run is isolated: the previous result deleted, btrfs synced (settle), `sync` and
# a pause before it, so no run pays for the writeback of the one before. Before a receive, the
# clean page cache is dropped too: each receive fills 2 GiB of it (4 GiB with the loop image's
# own), and once memory is full the kernel reclaims pages inside whichever process asks next,
# which made the system time of one tool's receive vary from 1.1 to 6 s between rounds.
# The tools alternate: each round starts with the next one in turn.
# OLD_BUILD_DIR, if given, is a second build of ours (before a change) whose receive runs in
# the same rounds, so that before and after are measured side by side.
# Usage (root): bench/send_receive.sh BUILD_DIR [ROUNDS] [PAUSE_SECONDS] [OLD_BUILD_DIR]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
rounds=${2:-8}
pause=${3:-3}
old_bin=
[ -n "${4:-}" ] && old_bin="$(realpath "$4")/daemon/buttervolume"
work=$(mktemp -d /tmp/bv-bench-sr.XXXXXX)
cleanup() {
    umount -l "$work/mnt" 2>/dev/null || true
    umount -l "$work/tmpfs" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
truncate -s 16G "$work/img"
mkfs.btrfs -q "$work/img" >/dev/null
mkdir "$work/mnt" "$work/tmpfs"
mount -o loop "$work/img" "$work/mnt"
mount -t tmpfs -o size=3G tmpfs "$work/tmpfs"
m="$work/mnt"
btrfs subvolume create "$m/src" >/dev/null
mkdir "$m/ours" "$m/progs" "$m/old"

echo "generating the source tree..." >&2
python3 - "$m/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
def write(path, size, compressible=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write((b"log line %08d: all is well\n" * (n // 32 + 1))[:n] if compressible else os.urandom(n))
            left -= n
for i in range(3000):                        # small files, 1-64 KiB: ~100 MiB
    write(f"{root}/small/d{i % 50:02d}/f{i:04d}", rnd.randint(1, 64) << 10)
for i in range(200):                         # medium files, 4 MiB: 800 MiB
    write(f"{root}/medium/m{i:03d}", 4 << 20)
for i in range(2):                           # large files, 512 MiB: 1 GiB
    write(f"{root}/large/l{i}", 512 << 20)
write(f"{root}/logs/app.log", 200 << 20, compressible=True)  # compressible, 200 MiB
PY
sync
btrfs subvolume snapshot -r "$m/src" "$m/s1" >/dev/null
src_bytes=$(du -sb "$m/s1" | cut -f1)
stream="$work/tmpfs/s1.stream"
btrfs send -q "$m/s1" > "$stream"
stream_bytes=$(stat -c %s "$stream")
bench_start

# Deletes what earlier runs received and waits until btrfs and the disk are idle.
isolate() {
    for d in "$m"/ours/* "$m"/progs/* "$m"/old/*; do
        [ -e "$d" ] && btrfs subvolume delete "$d" >/dev/null
    done
    settle "$pause" "$m"
}
now() { date +%s.%N; }
# Runs a command isolated, then sync; prints "wall(with sync) user+sys maxrss_kib".
measure() {
    isolate
    [ "$drop" = yes ] && echo 3 > /proc/sys/vm/drop_caches
    t0=$(now)
    /usr/bin/time -f "%U %S %M" -o "$work/t" "$@" >/dev/null
    sync
    t1=$(now)
    awk -v a="$t0" -v b="$t1" '{printf "%.2f %.2f %d\n", b - a, $1 + $2, $3}' "$work/t"
}
record() { # tool what: appends one measurement to the tool's lists
    echo "$3" >> "$work/$2_$1"; echo "$4" >> "$work/$2cpu_$1"; echo "$5" >> "$work/$2mem_$1"
}
recv_ours() { record ours recv $(measure "$bin" import --dest "$m/ours" -i "$stream"); }
recv_progs() { record progs recv $(measure btrfs receive -q -f "$stream" "$m/progs"); }
recv_old() { [ -z "$old_bin" ] || record old recv $(measure "$old_bin" import --dest "$m/old" -i "$stream"); }
send_ours() { record ours send $(measure sh -c "'$bin' export '$m/s1' | cat > /dev/null"); }
send_progs() { record progs send $(measure sh -c "btrfs send -q '$m/s1' | cat > /dev/null"); }

for k in recv send; do for t in ours progs old; do : > "$work/${k}_$t"; : > "$work/${k}cpu_$t"; : > "$work/${k}mem_$t"; done; done
drop=yes
i=1
while [ $i -le "$rounds" ]; do
    echo "round $i of $rounds" >&2
    if [ -z "$old_bin" ]; then
        if [ $((i % 2)) = 1 ]; then recv_ours; recv_progs; else recv_progs; recv_ours; fi
    else
        case $((i % 3)) in
        1) recv_ours; recv_progs; recv_old ;;
        2) recv_progs; recv_old; recv_ours ;;
        0) recv_old; recv_ours; recv_progs ;;
        esac
    fi
    i=$((i + 1))
done
drop=no
# The received trees equal the source (checked with find/sha256sum, not our code).
isolate
"$bin" import --dest "$m/ours" -i "$stream" >/dev/null
btrfs receive -q -f "$stream" "$m/progs"
digest() { (cd "$1" && find . -printf '%P %y %m %s %T@\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum; }
same=no
[ "$(digest "$m/ours/s1")" = "$(digest "$m/s1")" ] && [ "$(digest "$m/progs/s1")" = "$(digest "$m/s1")" ] && same=yes

i=1
while [ $i -le "$rounds" ]; do
    if [ $((i % 2)) = 1 ]; then send_ours; send_progs; else send_progs; send_ours; fi
    i=$((i + 1))
done
ours_stream=$("$bin" export --proto 1 "$m/s1" | cmp - "$stream" >/dev/null && echo "byte-identical" || echo "DIFFERENT")

# A ~1% change: 1 MiB rewritten in each of 20 medium files, 100 small files rewritten whole.
changed=$(python3 - "$m/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
total = 0
for i in rnd.sample(range(200), 20):
    with open(f"{root}/medium/m{i:03d}", "r+b") as f:
        f.seek(rnd.randrange(0, 3) << 20)
        f.write(os.urandom(1 << 20))
    total += 1 << 20
for i in rnd.sample(range(3000), 100):
    p = f"{root}/small/d{i % 50:02d}/f{i:04d}"
    size = os.path.getsize(p)
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    total += size
print(total)
PY
)
sync
btrfs subvolume snapshot -r "$m/src" "$m/s2" >/dev/null
inc_ours=$("$bin" export --parent "$m/s1" "$m/s2" | wc -c)
inc_progs=$(btrfs send -q -p "$m/s1" "$m/s2" | wc -c)
inc_time=$(measure sh -c "'$bin' export --parent '$m/s1' '$m/s2' | cat > /dev/null" | cut -d' ' -f1)

med() { median < "$work/$1"; }
kib_mib() { awk "BEGIN {printf \"%.1f\", $1 / 1024}"; }
row() { # label kind [tool]: the tool (ours by default) against progs
    t=${3:-ours}
    o=$(med "$2_$t"); p=$(med "$2_progs")
    echo "| $1 | $o s (CPU $(med "$2cpu_$t") s) | $p s (CPU $(med "$2cpu_progs") s) | $(awk "BEGIN {printf \"%.2f\", $p / $o}")x |"
}
old_row() { [ -z "$old_bin" ] || printf '\n%s' "$(row "receive + sync, old build ($old_bin)" recv old)"; }
cat <<EOF
$(bench_header "sh bench/send_receive.sh ${1:-build} $rounds $pause${4:+ $4}")
source: $(numfmt --to=iec-i "$src_bytes")B in $(find "$m/s1" -type f | wc -l) files; stream (v1, on tmpfs): $(numfmt --to=iec-i "$stream_bytes")B; received trees equal the source: $same
rounds: $rounds, alternating, each run isolated (previous result deleted, subvolume and filesystem sync, sync, ${pause} s pause; before a receive, the clean page cache dropped); median wall time including the final sync; CPU = user+sys

| what | buttervolume | btrfs-progs | ratio (progs time / ours) |
|---|---|---|---|
$(row "receive + sync" recv)$(old_row)
$(row "send into a pipe" send)
| peak memory of a receive (max RSS, median) | $(kib_mib "$(med recvmem_ours)") MiB | $(kib_mib "$(med recvmem_progs)") MiB | |
| incremental send of a 1% change: bytes on the wire | $inc_ours ($(awk "BEGIN {printf \"%.3f\", $inc_ours / $changed}")x the $changed bytes changed, ${inc_time} s) | $inc_progs | |

v1 stream from buttervolume export --proto 1 vs btrfs send: $ours_stream
rounds, receive (ours): $(tr '\n' ' ' < "$work/recv_ours")
rounds, receive (progs): $(tr '\n' ' ' < "$work/recv_progs")${old_bin:+
rounds, receive (old build): $(tr '\n' ' ' < "$work/recv_old")}
rounds, send (ours): $(tr '\n' ' ' < "$work/send_ours")
rounds, send (progs): $(tr '\n' ' ' < "$work/send_progs")
EOF
