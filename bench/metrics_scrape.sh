#!/bin/sh
# bench: a metrics scrape at N volumes (default 10,000), each with one snapshot, on a loop btrfs.
# Each of the two timed batches (all volumes, then per volume) starts isolated: btrfs synced,
# `sync` and a pause, so neither pays for the writeback of making the pool or of the batch
# before (which takes and deletes a snapshot).
# Usage: sh bench/metrics_scrape.sh BUILD_DIR [N]  (root; builds bench/metrics-scrape-bench)
set -eu
. "$(dirname "$0")/common.sh"
build=$1
n=${2:-10000}
ninja -C "$build" bench/metrics-scrape-bench bench/make-volumes >/dev/null
scratch_btrfs 4G
mkdir "$work/mnt/pool"
# One snapshot per volume, as a daily snapshot job leaves them.
"$build/bench/make-volumes" "$work/mnt/pool" "$n" --snapshot
bench_start
# The pause also takes the pool past the folder caches' one-second racy window.
settle 2 "$work/mnt"
"$build/bench/metrics-scrape-bench" "$work/mnt/pool" > "$work/out"
settle 2 "$work/mnt"
"$build/bench/metrics-scrape-bench" "$work/mnt/pool" --per-volume 20 >> "$work/out"
bench_header "sh bench/metrics_scrape.sh $build $n"
echo "each batch isolated (subvolume and filesystem sync, sync, 2 s pause)"
cat "$work/out"
