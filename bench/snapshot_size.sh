#!/bin/sh
# Snapshot time against volume size: an empty volume, 1 GiB in one file, 1 GiB in 16,384 files
# of 64 KiB, on a fresh loop-mounted btrfs, measured two ways:
#   in-process: N snapshots of each through the library (bench/snapshot-time), twice, the
#               volumes in opposite orders
#   through a process: N `buttervolume snapshot VOLUME` against N `btrfs subvolume snapshot -r`
#               of the same volume, the tools alternating: odd rounds ours first, even progs first
# Every timed snapshot is isolated (btrfs synced, `sync` and a pause before it); the snapshots
# stay until the end, so no deletion's cleanup runs under a timed one. Figures are medians.
# Usage (root): bench/snapshot_size.sh BUILD_DIR [N]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
n=${2:-21}
scratch_btrfs 6G
root="$work/mnt/pool"
mkdir "$root" "$work/mnt/progs"
for v in empty onefile manyfiles; do "$bin" --root "$root" create "$v" > /dev/null; done
head -c 1G /dev/urandom > "$root/volumes/onefile/data"
mkdir "$root/volumes/manyfiles/d"
head -c 1G /dev/urandom | split -b 64K -a 4 - "$root/volumes/manyfiles/d/f"
files=$(find "$root/volumes/manyfiles/d" -type f | wc -l)
sizes=$(du -sh "$root/volumes/onefile" "$root/volumes/manyfiles" | awk '{print $1}' | tr '\n' ' ')
bench_start

# snapshot-time settles before each snapshot itself; these settles also wait for the cleaner
# to be done with the snapshots the first pass deleted.
settle 0.3 "$work/mnt"
"$build/bench/snapshot-time" "$root" "$n" empty onefile manyfiles > "$work/library"
settle 0.3 "$work/mnt"
"$build/bench/snapshot-time" "$root" "$n" manyfiles onefile empty >> "$work/library"

# timed NAME COMMAND...: settles, runs COMMAND, appends its wall time (us) to NAME.us.
timed() {
    name=$1; shift
    settle 0.3 "$work/mnt"
    s=$(date +%s%N)
    "$@" > /dev/null
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >> "$work/$name.us"
}
ours() { timed "ours-$1" "$bin" --root "$root" snapshot "$1"; }
progs() { timed "progs-$1" btrfs subvolume snapshot -r "$root/volumes/$1" "$work/mnt/progs/$1-$i"; }
i=1
while [ $i -le "$n" ]; do
    for v in empty onefile manyfiles; do
        if [ $((i % 2)) = 1 ]; then ours "$v"; progs "$v"; else progs "$v"; ours "$v"; fi
    done
    i=$((i + 1))
done

ms() { awk "BEGIN {printf \"%.2f\", $1 / 1000}"; }
bench_header "sh bench/snapshot_size.sh ${1:-build} $n"
echo "files: $files, sizes: $sizes"
echo "each snapshot isolated: in-process after sync(2) and a 0.3 s pause, through a process after subvolume and filesystem sync, sync and a 0.3 s pause; medians"
echo
echo "in-process (libbuttervolume, two passes in opposite volume orders):"
cat "$work/library"
echo
echo "through a process, $n rounds, the tools alternating:"
echo "| volume | \`buttervolume snapshot\` | \`btrfs subvolume snapshot -r\` | ratio (ours / progs) |"
echo "|---|---|---|---|"
for v in empty onefile manyfiles; do
    o=$(median < "$work/ours-$v.us"); p=$(median < "$work/progs-$v.us")
    echo "| $v | $(ms "$o") ms | $(ms "$p") ms | $(awk "BEGIN {printf \"%.2f\", $o / $p}")x |"
done
