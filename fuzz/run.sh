#!/bin/sh
# Builds the libFuzzer targets with clang in a build directory of their own and runs each for a
# bounded time (FUZZ_SECONDS, default 60) from the committed seed corpus. Fails on any crash,
# leak, timeout or sanitizer report. The receiver target needs root: it receives into a
# scratch directory on a loop-mounted btrfs made here. The plugin-request target only decodes
# and encodes, and needs no root. Usage: fuzz/run.sh [BUILD_DIR]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-fuzz}
secs=${FUZZ_SECONDS:-60}
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" "$src" --wrap-mode=nodownload --buildtype=debugoptimized \
        -Dfuzz=true -Dtests=disabled >/dev/null
else
    # A build directory from before the plugin target had the daemon disabled.
    meson configure "$build" -Ddaemon=enabled >/dev/null
fi
ninja -C "$build" fuzz/fuzz_stream_reader fuzz/fuzz_receive fuzz/fuzz_plugin_request >/dev/null
work=$(mktemp -d)
mnt=""
cleanup() {
    [ -n "$mnt" ] && umount -l "$mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
fuzz() {
    name=$1
    shift
    mkdir -p "$work/corpus-$name"
    # New inputs go to the scratch corpus (first directory); the committed seeds stay as they are.
    if "$build/fuzz/$name" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$name-" \
        "$work/corpus-$name" "$src/fuzz/corpus/$1" >"$work/$name.log" 2>&1; then
        echo "fuzz $name: ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') runs in ${secs}s)"
    else
        echo "fuzz $name: FAILED"
        tail -60 "$work/$name.log"
        # Keep the log and the input that failed for a look afterwards.
        cp "$work/$name.log" "$work/$name"-crash-* "$work/$name"-leak-* "$work/$name"-timeout-* "$build/" 2>/dev/null || true
        status=1
    fi
}
fuzz fuzz_stream_reader stream_reader
fuzz fuzz_plugin_request plugin_request
if [ "$(id -u)" = 0 ]; then
    truncate -s 1G "$work/fs.img"
    mkfs.btrfs -q -f "$work/fs.img" >/dev/null 2>&1
    mkdir "$work/mnt"
    mount -o loop "$work/fs.img" "$work/mnt"
    mnt="$work/mnt"
    mkdir "$mnt/dest"
    BV_FUZZ_DEST="$mnt/dest" fuzz fuzz_receive receive
else
    echo "fuzz fuzz_receive: skipped (needs root)"
fi
exit $status
