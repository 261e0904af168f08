#!/bin/sh
# Snapshot time against volume size: an empty volume, 1 GiB in one file, 1 GiB in 16,384 files
# of 64 KiB, on a fresh loop-mounted btrfs. Each figure is the median of N snapshots taken through
# the library (bench/snapshot-time), after a sync, plus one `buttervolume snapshot` CLI call.
# Usage (root): bench/snapshot_size.sh BUILD_DIR [N]
set -eu
. "$(dirname "$0")/common.sh"
bench_build "${1:-build}"
n=${2:-21}
scratch_btrfs 6G
root="$work/mnt/pool"
mkdir "$root"
for v in empty onefile manyfiles; do "$bin" --root "$root" create "$v" > /dev/null; done
head -c 1G /dev/urandom > "$root/volumes/onefile/data"
mkdir "$root/volumes/manyfiles/d"
head -c 1G /dev/urandom | split -b 64K -a 4 - "$root/volumes/manyfiles/d/f"
sync
echo "files: $(find "$root/volumes/manyfiles/d" -type f | wc -l), sizes: $(du -sh "$root/volumes/onefile" "$root/volumes/manyfiles" | awk '{print $1}' | tr '\n' ' ')"
"$build/bench/snapshot-time" "$root" "$n" empty onefile manyfiles
"$build/bench/snapshot-time" "$root" "$n" manyfiles onefile empty
for v in empty onefile manyfiles; do
    s=$(date +%s%N); "$bin" --root "$root" snapshot "$v" > /dev/null; e=$(date +%s%N)
    echo "$v: one 'buttervolume snapshot' CLI call: $(( (e - s) / 1000 )) us"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
