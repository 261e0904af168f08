#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `docker volume create` and `docker run -v` through the buttervolume plugin against Docker's
# built-in local driver, side by side in one run on one private engine.
#
# Usage (root, after a build):  sh bench/docker_volumes.sh [REPS]     (default REPS=50)
# Environment: BUTTERVOLUME_BIN (default build/daemon/buttervolume).
#
# Starts its own dockerd and plugin with tests/e2e/engine.sh inside tests/e2e/private_ns.sh
# (nothing touches another engine; everything is gone afterwards). Each repetition times, for
# the local driver then the plugin (the order alternates between repetitions):
#   create   docker volume create [-d btrfs] NAME
#   run      docker run --rm -v NAME:/d busybox true      (Get, Mount, Unmount: a container's life)
#   rm       docker volume rm NAME
#   api-create, api-rm   the same two calls on the Engine API with curl (POST /volumes/create,
#            DELETE /volumes/NAME): the docker CLI's own start-up (tens of ms, the same for both
#            drivers) is left out, so the ratio shows the daemon's and the plugin's share.
# Times are wall-clock per call. Every timed call is isolated: btrfs synced (dockerd's data root
# and the pool), `sync` and a pause before it, so none pays for the writeback of the one before.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${BV_E2E_DIR:-}" ]; then
    export BUTTERVOLUME_BIN="${BUTTERVOLUME_BIN:-$here/build/daemon/buttervolume}"
    exec sh "$here/tests/e2e/private_ns.sh" sh "$here/bench/docker_volumes.sh" "$@"
fi
. "$here/bench/common.sh"
reps=${1:-50}
engine="sh $here/tests/e2e/engine.sh"
docker=$BV_E2E_DOCKER
$engine up
times=$BV_E2E_DIR/times
bench_start

now() { date +%s%N; }
# timed DRIVER OPERATION COMMAND...: settles, runs COMMAND, appends "driver operation
# microseconds" to $times.
timed() {
    d=$1 op=$2
    shift 2
    settle 0.3 "$BV_E2E_DIR/data" "$BV_E2E_DIR/pool"
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    echo "$d $op $(((t1 - t0) / 1000))" >>"$times"
}
one() { # DRIVER NAME
    if [ "$1" = local ]; then
        timed local create $docker volume create "$2"
    else
        timed btrfs create $docker volume create -d btrfs "$2"
    fi
    timed "$1" run $docker run --rm -v "$2:/d" busybox true
    timed "$1" rm $docker volume rm "$2"
    timed "$1" api-create curl -sf --unix-socket "$BV_E2E_DIR/docker.sock" -X POST \
        -H 'Content-Type: application/json' -d "{\"Name\":\"api-$2\",\"Driver\":\"$1\"}" \
        http://docker/volumes/create
    timed "$1" api-rm curl -sf --unix-socket "$BV_E2E_DIR/docker.sock" -X DELETE "http://docker/volumes/api-$2"
}

# Warm-up: the first plugin call activates it; the first run loads the image.
for i in 1 2 3; do
    one local "warm-l$i"
    one btrfs "warm-b$i"
done
: >"$times"
i=0
while [ $i -lt "$reps" ]; do
    if [ $((i % 2)) = 0 ]; then
        one local "l$i"
        one btrfs "b$i"
    else
        one btrfs "b$i"
        one local "l$i"
    fi
    i=$((i + 1))
done

bench_header "BUTTERVOLUME_BIN=$BUTTERVOLUME_BIN sh bench/docker_volumes.sh $reps"
echo "docker volume create / run -v / rm, $reps repetitions each, the drivers alternating, each call isolated (subvolume and filesystem sync, sync, 0.3 s pause); microseconds per call"
echo "dockerd $(dockerd --version | cut -d' ' -f3 | tr -d ,), $(nproc) cores, $(uname -r)"
printf '%-10s %-7s %9s %9s %9s %9s\n' operation driver p50 p90 mean max
for op in create run rm api-create api-rm; do
    for d in local btrfs; do
        grep "^$d $op " "$times" | cut -d' ' -f3 | sort -n | awk -v op="$op" -v d="$d" '
            { v[NR] = $1; s += $1 }
            END {
                p50 = v[int((NR + 1) / 2)]; p90 = v[int(NR * 0.9 + 0.5)]
                printf "%-10s %-7s %9d %9d %9d %9d\n", op, d, p50, p90, s / NR, v[NR]
                print op, d, p50 > "/dev/stderr"
            }' 2>>"$times.p50"
    done
done
echo "ratios plugin/local (p50):"
for op in create run rm api-create api-rm; do
    l=$(grep "^$op local " "$times.p50" | cut -d' ' -f3)
    b=$(grep "^$op btrfs " "$times.p50" | cut -d' ' -f3)
    awk -v op="$op" -v l="$l" -v b="$b" 'BEGIN { printf "  %-10s %.2fx\n", op, b / l }'
done
