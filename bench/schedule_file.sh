#!/bin/sh
# Times reading and rewriting a schedule of N jobs (default 30000): `scheduled --json` (a read,
# every job's record and volume looked up) and `schedule` adding one job (a read, a rewrite, a
# rename), on a fresh loop-mounted btrfs. OLD_BUILD_DIR, when given, is timed the same way,
# side by side (issue 29: 20 s at 30,000 jobs when a repeated job was looked for by a scan).
# Figures are medians over ROUNDS (default 3), wall and CPU time.
# Usage (root): bench/schedule_file.sh BUILD_DIR [N] [ROUNDS] [OLD_BUILD_DIR]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
n=${2:-30000}
rounds=${3:-3}
old_bin=${4:+$(realpath "$4")/daemon/buttervolume}
scratch_btrfs 1G
pool="$work/mnt/pool"
"$bin" --root "$pool" init >/dev/null
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "v%05d,snapshot,60,True\n", i }' > "$work/schedule.csv"
bench_start
# timed NAME COMMAND...: a fresh copy of the N-job file, then COMMAND; its wall time goes to
# NAME.us and its CPU time (user+sys) to NAME.cpu, both in microseconds.
timed() {
    name=$1; shift
    cp "$work/schedule.csv" "$pool/config/schedule.csv"
    settle 0.2 "$work/mnt"
    s=$(date +%s%N)
    /usr/bin/time -f "%U %S" -o "$work/t" "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >> "$work/$name.us"
    awk '{printf "%d\n", ($1 + $2) * 1000000}' "$work/t" >> "$work/$name.cpu"
}
i=1
while [ $i -le "$rounds" ]; do
    timed list "$bin" --root "$pool" scheduled --json
    timed add "$bin" --root "$pool" schedule snapshot 60 extra
    if [ -n "$old_bin" ]; then
        timed old_list "$old_bin" --root "$pool" scheduled --json
        timed old_add "$old_bin" --root "$pool" schedule snapshot 60 extra
    fi
    i=$((i + 1))
done
ms() { awk "BEGIN {printf \"%.1f\", $1 / 1000}"; }
figure() { echo "$(ms "$(median < "$work/$1.us")") ms wall, $(ms "$(median < "$work/$1.cpu")") ms CPU"; }
bench_header "sh bench/schedule_file.sh ${1:-build} $n $rounds${4:+ $4}"
echo "rounds: $rounds; medians; CPU = user+sys (10 ms resolution); jobs in the file: $n"
echo "buttervolume scheduled --json:        $(figure list)"
echo "buttervolume schedule (add one job):  $(figure add)"
if [ -n "$old_bin" ]; then
    echo "old build, scheduled --json:          $(figure old_list)"
    echo "old build, schedule (add one job):    $(figure old_add)"
fi
