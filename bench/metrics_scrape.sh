#!/bin/sh
# bench: a metrics scrape at N volumes (default 10,000), each with one snapshot, on a loop btrfs.
# Usage: sh bench/metrics_scrape.sh BUILD_DIR [N]  (root; builds bench/metrics-scrape-bench)
set -eu
build=$1
n=${2:-10000}
ninja -C "$build" bench/metrics-scrape-bench bench/make-volumes >/dev/null
dir=$(mktemp -d /tmp/bv-metrics-bench.XXXXXX)
cleanup() { umount "$dir/mnt" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
truncate -s 4G "$dir/img"
mkfs.btrfs -q "$dir/img"
mkdir "$dir/mnt"
mount -o loop "$dir/img" "$dir/mnt"
mkdir "$dir/mnt/pool"
# One snapshot per volume, as a daily snapshot job leaves them.
"$build/bench/make-volumes" "$dir/mnt/pool" "$n" --snapshot
sleep 2 # past the folder caches' one-second racy window
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/metrics-scrape-bench" "$dir/mnt/pool"
"$build/bench/metrics-scrape-bench" "$dir/mnt/pool" --per-volume 20
