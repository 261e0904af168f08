#!/bin/sh
# Footprint side by side with btrfs-progs, in one run, the tools alternating in every round:
#   `buttervolume --version` against `btrfs --version`: wall time and peak RSS
#   `buttervolume snapshot VOLUME` against `btrfs subvolume snapshot -r`, on a fresh loop btrfs,
#   each call isolated (btrfs synced, `sync` and a pause before it)
#   the peak RSS of a receive: `buttervolume import` against `btrfs receive` of the same v1
#   stream (~100 MiB: small files, two large ones, a compressible one), each into a folder
#   emptied and settled before it
#   the daemon's RSS idle on an empty pool (after its first answer), and what it maps
# Usage (root): bench/footprint.sh BUILD_DIR [ROUNDS]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
rounds=${2:-21}
work=$(mktemp -d /tmp/bv-bench-fp.XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    umount -l "$work/mnt" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
bench_start
# Runs a command; appends its wall time (ms, from GNU time's %e is too coarse: date) and max RSS.
timed() { # file_prefix command...
    p=$1; shift
    s=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null
    e=$(date +%s%N)
    echo "$(( (e - s) / 1000 ))" >> "$work/$p.us"
    cat "$work/rss" >> "$work/$p.kib"
}

i=1
while [ $i -le "$rounds" ]; do
    if [ $((i % 2)) = 1 ]; then timed ver_ours "$bin" --version; timed ver_progs btrfs --version
    else timed ver_progs btrfs --version; timed ver_ours "$bin" --version; fi
    i=$((i + 1))
done

truncate -s 4G "$work/img"
mkfs.btrfs -q "$work/img" >/dev/null
mkdir "$work/mnt"
mount -o loop "$work/img" "$work/mnt"
root="$work/mnt/pool"
mkdir "$root"
"$bin" --root "$root" create vol > /dev/null
btrfs subvolume create "$work/mnt/plain" > /dev/null
mkdir "$work/mnt/progs"
isolated() { settle 0.3 "$work/mnt"; timed "$@"; }
i=1
while [ $i -le "$rounds" ]; do
    if [ $((i % 2)) = 1 ]; then isolated snap_ours "$bin" --root "$root" snapshot vol; isolated snap_progs btrfs subvolume snapshot -r "$work/mnt/plain" "$work/mnt/progs/s$i"
    else isolated snap_progs btrfs subvolume snapshot -r "$work/mnt/plain" "$work/mnt/progs/s$i"; isolated snap_ours "$bin" --root "$root" snapshot vol; fi
    i=$((i + 1))
done

# Peak RSS of a receive (time is send_receive.sh's business: this stream is small).
btrfs subvolume create "$work/mnt/src" > /dev/null
i=0
while [ $i -lt 300 ]; do head -c $(( (i % 64 + 1) * 1024 )) /dev/urandom > "$work/mnt/src/f$i"; i=$((i + 1)); done
head -c 32M /dev/urandom > "$work/mnt/src/large1"
head -c 32M /dev/urandom > "$work/mnt/src/large2"
yes "log line: all is well" | head -c 16M > "$work/mnt/src/app.log"
btrfs subvolume snapshot -r "$work/mnt/src" "$work/mnt/src.snap" > /dev/null
btrfs send -q "$work/mnt/src.snap" > "$work/stream"
mkdir "$work/mnt/recv_ours" "$work/mnt/recv_progs"
received() { # folder tool command...: empties the folder, settles, runs the receive
    d=$1; shift
    [ -e "$d/src.snap" ] && btrfs subvolume delete "$d/src.snap" > /dev/null
    isolated "$@"
}
i=1
while [ $i -le "$rounds" ]; do
    if [ $((i % 2)) = 1 ]; then
        received "$work/mnt/recv_ours" recv_ours "$bin" import --dest "$work/mnt/recv_ours" -i "$work/stream"
        received "$work/mnt/recv_progs" recv_progs btrfs receive -q -f "$work/stream" "$work/mnt/recv_progs"
    else
        received "$work/mnt/recv_progs" recv_progs btrfs receive -q -f "$work/stream" "$work/mnt/recv_progs"
        received "$work/mnt/recv_ours" recv_ours "$bin" import --dest "$work/mnt/recv_ours" -i "$work/stream"
    fi
    i=$((i + 1))
done

# The daemon, idle on an empty pool, after answering one request.
mkdir "$work/mnt/empty"
"$bin" run --root "$work/mnt/empty" --socket "$work/p.sock" --log-level error &
daemon=$!
n=0
while [ ! -S "$work/p.sock" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
curl -s --unix-socket "$work/p.sock" -X POST http://p/VolumeDriver.List > /dev/null
sleep 0.5
field() { awk -v f="$1:" '$1 == f {printf "%.1f", $2 / 1024}' "/proc/$daemon/status"; }
d_rss=$(field VmRSS); d_hwm=$(field VmHWM); d_anon=$(field RssAnon); d_file=$(field RssFile)
d_maps=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$daemon/maps" | sort -u | sed 's|.*/||' | tr '\n' ' ')
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=

ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
vo=$(median < "$work/ver_ours.us"); vp=$(median < "$work/ver_progs.us")
mo=$(median < "$work/ver_ours.kib"); mp=$(median < "$work/ver_progs.kib")
so=$(median < "$work/snap_ours.us"); sp=$(median < "$work/snap_progs.us")
ro=$(median < "$work/recv_ours.kib"); rp=$(median < "$work/recv_progs.kib")
cat <<EOF
$(bench_header "sh bench/footprint.sh ${1:-build} $rounds")
rounds: $rounds, the two tools alternating; medians; snapshot and receive calls isolated (subvolume and filesystem sync, sync, 0.3 s pause)

| what | buttervolume | btrfs-progs | ratio (ours / progs) |
|---|---|---|---|
| \`--version\`: wall time | $(awk "BEGIN {printf \"%.2f\", $vo / 1000}") ms | $(awk "BEGIN {printf \"%.2f\", $vp / 1000}") ms | $(ratio "$vo" "$vp")x |
| \`--version\`: peak RSS | $(awk "BEGIN {printf \"%.1f\", $mo / 1024}") MiB | $(awk "BEGIN {printf \"%.1f\", $mp / 1024}") MiB | $(ratio "$mo" "$mp")x |
| \`snapshot\` of an empty volume (process included) | $(awk "BEGIN {printf \"%.2f\", $so / 1000}") ms | $(awk "BEGIN {printf \"%.2f\", $sp / 1000}") ms | $(ratio "$so" "$sp")x |
| receive of a $(du -m "$work/stream" | cut -f1) MiB stream: peak RSS | $(awk "BEGIN {printf \"%.1f\", $ro / 1024}") MiB | $(awk "BEGIN {printf \"%.1f\", $rp / 1024}") MiB | $(ratio "$ro" "$rp")x |

daemon idle on an empty pool, after one request: RSS $d_rss MiB (anonymous $d_anon MiB, file-backed $d_file MiB), peak $d_hwm MiB
daemon maps: $d_maps
EOF
