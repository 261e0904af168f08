#!/bin/sh
# bench: a metrics scrape at N volumes (default 10,000), each with one snapshot, on a loop btrfs.
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
sleep 2 # past the folder caches' one-second racy window
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/metrics-scrape-bench" "$work/mnt/pool"
"$build/bench/metrics-scrape-bench" "$work/mnt/pool" --per-volume 20
