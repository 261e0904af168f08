#!/bin/sh
# Native send/receive against btrfs-progs, side by side in one run, on the same snapshot of
# about 2 GiB of mixed files (small, medium, large, compressible) on a fresh loop-mounted btrfs:
#   receive: `buttervolume import` vs `btrfs receive` of the same stream (each followed by sync)
#   send:    `buttervolume export` vs `btrfs send`, into a pipe
#   incremental send of a ~1% change: bytes on the wire against bytes changed
#   peak memory (max RSS) of each receive
# Usage (root): bench/send_receive.sh BUILD_DIR [ROUNDS]
set -eu
build=$(realpath "${1:-build}")
rounds=${2:-3}
bin="$build/daemon/buttervolume"
work=$(mktemp -d /tmp/bv-bench-sr.XXXXXX)
cleanup() { umount -l "$work/mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
truncate -s 16G "$work/img"
mkfs.btrfs -q "$work/img"
mkdir "$work/mnt"
mount -o loop "$work/img" "$work/mnt"
m="$work/mnt"
btrfs subvolume create "$m/src" >/dev/null
mkdir "$m/ours" "$m/progs"

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

btrfs send -q "$m/s1" > "$m/s1.stream"
stream_bytes=$(stat -c %s "$m/s1.stream")

# Runs a command, prints "wall user+sys maxrss_kib".
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" >/dev/null
    awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4}' "$work/t"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

: > "$work/recv_ours"; : > "$work/recv_progs"
: > "$work/cpu_ours"; : > "$work/cpu_progs"
i=0
while [ $i -lt "$rounds" ]; do
    cat "$m/s1.stream" > /dev/null # in the page cache for both
    set -- $(measure sh -c "'$bin' import --dest '$m/ours' -i '$m/s1.stream' && sync")
    echo "$1" >> "$work/recv_ours"; echo "$2" >> "$work/cpu_ours"
    btrfs subvolume delete -c "$m/ours/s1" >/dev/null
    set -- $(measure sh -c "btrfs receive -q -f '$m/s1.stream' '$m/progs' && sync")
    echo "$1" >> "$work/recv_progs"; echo "$2" >> "$work/cpu_progs"
    btrfs subvolume delete -c "$m/progs/s1" >/dev/null
    btrfs subvolume sync "$m" >/dev/null 2>&1 || true
    i=$((i + 1))
done
# Peak memory of a whole receive, each measured directly.
cat "$m/s1.stream" > /dev/null
mem_ours=$(measure "$bin" import --dest "$m/ours" -i "$m/s1.stream" | cut -d' ' -f3)
mem_progs=$(measure btrfs receive -q -f "$m/s1.stream" "$m/progs" | cut -d' ' -f3)
# The received trees equal the source (checked with find/sha256sum, not our code).
digest() { (cd "$1" && find . -printf '%P %y %m %s %T@\n' | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum; }
same=no
[ "$(digest "$m/ours/s1")" = "$(digest "$m/s1")" ] && [ "$(digest "$m/progs/s1")" = "$(digest "$m/s1")" ] && same=yes
btrfs subvolume delete -c "$m/ours/s1" "$m/progs/s1" >/dev/null

: > "$work/send_ours"; : > "$work/send_progs"; : > "$work/scpu_ours"; : > "$work/scpu_progs"
i=0
while [ $i -lt "$rounds" ]; do
    set -- $(measure sh -c "'$bin' export '$m/s1' | cat > /dev/null")
    echo "$1" >> "$work/send_ours"; echo "$2" >> "$work/scpu_ours"
    set -- $(measure sh -c "btrfs send -q '$m/s1' | cat > /dev/null")
    echo "$1" >> "$work/send_progs"; echo "$2" >> "$work/scpu_progs"
    i=$((i + 1))
done
ours_stream=$("$bin" export --proto 1 "$m/s1" | cmp - "$m/s1.stream" >/dev/null && echo "byte-identical" || echo "DIFFERENT")

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

ro=$(median < "$work/recv_ours"); rp=$(median < "$work/recv_progs")
so=$(median < "$work/send_ours"); sp=$(median < "$work/send_progs")
cat <<EOF
source: $(numfmt --to=iec-i "$src_bytes")B in $(find "$m/s1" -type f | wc -l) files; stream (v1): $(numfmt --to=iec-i "$stream_bytes")B; received trees equal the source: $same
rounds: $rounds (median wall time; CPU = user+sys)

| what | buttervolume | btrfs-progs | ratio (progs/ours time) |
|---|---|---|---|
| receive + sync | ${ro} s (CPU $(median < "$work/cpu_ours") s) | ${rp} s (CPU $(median < "$work/cpu_progs") s) | $(awk "BEGIN {printf \"%.2f\", $rp / $ro}")x |
| send into a pipe | ${so} s (CPU $(median < "$work/scpu_ours") s) | ${sp} s (CPU $(median < "$work/scpu_progs") s) | $(awk "BEGIN {printf \"%.2f\", $sp / $so}")x |
| peak memory of a receive (max RSS) | $(awk "BEGIN {printf \"%.1f\", $mem_ours / 1024}") MiB | $(awk "BEGIN {printf \"%.1f\", $mem_progs / 1024}") MiB | |
| incremental send of a 1% change: bytes on the wire | $inc_ours ($(awk "BEGIN {printf \"%.3f\", $inc_ours / $changed}")x the $changed bytes changed, ${inc_time} s) | $inc_progs | |

v1 stream from buttervolume export --proto 1 vs btrfs send: $ours_stream
rounds, receive (ours): $(tr '\n' ' ' < "$work/recv_ours")
rounds, receive (progs): $(tr '\n' ' ' < "$work/recv_progs")
rounds, send (ours): $(tr '\n' ' ' < "$work/send_ours")
rounds, send (progs): $(tr '\n' ' ' < "$work/send_progs")
EOF
