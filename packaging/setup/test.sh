#!/bin/sh
# The README's test command: install what is needed, build, run every test suite, and print
# one line "N passed, N failed" counted from meson's testlog.json. Run as root: the
# integration and end-to-end suites need loop devices, mounts and a Docker engine.
set -eu
cd "$(dirname "$0")/../.."
sh packaging/setup/deps.sh test
build=${BUILD_DIR:-build}
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" --wrap-mode=nodownload -Dtest_seams=true >/dev/null
else
    meson setup "$build" --wrap-mode=nodownload --werror -Dtest_seams=true >/dev/null
fi
meson compile -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
python3 tests/summary.py "$build/meson-logs/testlog.json" || status=1
exit $status
