#!/bin/sh
# Times `buttervolume volumes --json` (and the table) on a pool of N volumes (default 10000) on a
# fresh loop-mounted btrfs, side by side with what the Python project does per volume
# (`btrfs subvolume show`, timed on a sample and extrapolated) and with `btrfs subvolume list`.
# Usage (root): bench/volumes_list.sh BUILD_DIR [N]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
n=${2:-10000}
scratch_btrfs 8G
mkdir "$work/mnt/pool"
"$build/bench/make-volumes" "$work/mnt/pool" "$n"
"$build/bench/make-volumes" "$work/mnt/pool" 0 >/dev/null
sync
time_ms() { # runs "$@" R times, prints the median wall time in ms
    r=5; i=0; : > "$work/times"
    while [ $i -lt $r ]; do
        s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
        echo $(( (e - s) / 1000000 )) >> "$work/times"; i=$((i + 1))
    done
    sort -n "$work/times" | sed -n 3p
}
json=$(time_ms "$bin" --root "$work/mnt/pool" volumes --json)
# CPU time (user+sys) is what the listing costs; wall time also shows the machine's load.
cpu=$( { /usr/bin/time -f "%U %S" "$bin" --root "$work/mnt/pool" volumes --json > /dev/null; } 2>&1 | awk '{printf "%d", ($1 + $2) * 1000}')
table=$(time_ms "$bin" --root "$work/mnt/pool" volumes)
count=$("$bin" --root "$work/mnt/pool" volumes --json | grep -o '"Name"' | wc -l)
list=$(time_ms btrfs subvolume list "$work/mnt")
sample=100
s=$(date +%s%N)
i=0; while [ $i -lt $sample ]; do btrfs subvolume show "$work/mnt/pool/volumes/v$(printf %05d $i)" >/dev/null; i=$((i+1)); done
e=$(date +%s%N)
python_ms=$(( (e - s) / 1000000 * n / sample ))
echo "volumes: $count"
echo "buttervolume volumes --json:        ${json} ms wall (median of 5), ${cpu} ms CPU"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "buttervolume volumes (table):       ${table} ms"
echo "btrfs subvolume list (one call):    ${list} ms"
echo "btrfs subvolume show x $n (Python's way, extrapolated from $sample): ${python_ms} ms"
echo "ratio python-way / ours (json):     $(awk "BEGIN{printf \"%.0f\", $python_ms / ($json > 0 ? $json : 1)}")x"
