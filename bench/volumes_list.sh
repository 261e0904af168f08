#!/bin/sh
# Times `buttervolume volumes --json` (and the table) on a pool of N volumes (default 10000) on a
# fresh loop-mounted btrfs, side by side with `btrfs subvolume list` and with what the Python
# project does per volume (`btrfs subvolume show`, timed on a sample and extrapolated).
# Every timed call is isolated (btrfs synced, `sync` and a pause before it) and the tools take
# turns going first: odd rounds run ours first (json, table, list), even rounds btrfs-progs
# first (list, table, json). Figures are medians over ROUNDS (default 5), wall and CPU time.
# Usage (root): bench/volumes_list.sh BUILD_DIR [N] [ROUNDS]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
n=${2:-10000}
rounds=${3:-5}
scratch_btrfs 8G
pool="$work/mnt/pool"
mkdir "$pool"
"$build/bench/make-volumes" "$pool" "$n"
"$build/bench/make-volumes" "$pool" 0 >/dev/null
bench_start
# timed NAME COMMAND...: settles, runs COMMAND, appends its wall time to NAME.us and its CPU
# time (user+sys) to NAME.cpu, both in microseconds.
timed() {
    name=$1; shift
    settle 0.5 "$work/mnt"
    s=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$work/t" "$@" >/dev/null
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >> "$work/$name.us"
    awk '{printf "%d\n", ($1 + $2) * 1000000}' "$work/t" >> "$work/$name.cpu"
}
json() { timed json "$bin" --root "$pool" volumes --json; }
table() { timed table "$bin" --root "$pool" volumes; }
list() { timed list btrfs subvolume list "$work/mnt"; }
i=1
while [ $i -le "$rounds" ]; do
    if [ $((i % 2)) = 1 ]; then json; table; list; else list; table; json; fi
    i=$((i + 1))
done
count=$("$bin" --root "$pool" volumes --json | grep -o '"Name"' | wc -l)
sample=$((n < 100 ? n : 100))
settle 0.5 "$work/mnt"
s=$(date +%s%N)
i=0; while [ $i -lt $sample ]; do btrfs subvolume show "$pool/volumes/v$(printf %05d $i)" >/dev/null; i=$((i+1)); done
e=$(date +%s%N)
python_us=$(( (e - s) / 1000 * n / sample ))

ms() { awk "BEGIN {printf \"%.1f\", $1 / 1000}"; }
figure() { echo "$(ms "$(median < "$work/$1.us")") ms wall, $(ms "$(median < "$work/$1.cpu")") ms CPU"; }
json_us=$(median < "$work/json.us")
bench_header "sh bench/volumes_list.sh ${1:-build} $n $rounds"
echo "rounds: $rounds, alternating, each call isolated (subvolume and filesystem sync, sync, 0.5 s pause); medians; CPU = user+sys (10 ms resolution)"
echo "volumes: $count"
echo "buttervolume volumes --json:        $(figure json)"
echo "buttervolume volumes (table):       $(figure table)"
echo "btrfs subvolume list (one call):    $(figure list)"
echo "btrfs subvolume show x $n (Python's way, extrapolated from $sample): $(ms "$python_us") ms"
echo "ratio python-way / ours (json):     $(awk "BEGIN {printf \"%.0f\", $python_us / ($json_us > 0 ? $json_us : 1)}")x"
echo "rounds, json (us): $(tr '\n' ' ' < "$work/json.us")"
echo "rounds, list (us): $(tr '\n' ' ' < "$work/list.us")"
