#!/bin/sh
# The README's test command: install what is needed, build, run every test suite, then build
# the unit, public-api and integration suites again with -Db_sanitize=address,undefined (at -O0) and
# run them, and print one line "N passed, N failed" counted from both builds' testlog.json.
# Run as root: the integration and end-to-end suites need loop devices, mounts and a Docker
# engine. With arguments (test names for meson test), only those run, in the plain build;
# SANITIZE=1 runs the sanitizer variant too, SANITIZE=0 never.
set -eu
cd "$(dirname "$0")/../.."
sh packaging/setup/deps.sh test
build=${BUILD_DIR:-build}
san=${SANITIZE_BUILD_DIR:-$build-sanitize}
if [ $# -gt 0 ]; then sanitize=${SANITIZE:-0}; else sanitize=${SANITIZE:-1}; fi

setup() {
    dir=$1
    shift
    # meson writes its errors to stdout: show its output when it fails.
    if [ -f "$dir/build.ninja" ]; then
        set -- --reconfigure "$dir" "$@"
    else
        set -- "$dir" --werror "$@"
    fi
    out=$(meson setup --wrap-mode=nodownload "$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}

# The sanitizer variant's tests: the unit and integration suites but the consumer check,
# which links a plain program against the instrumented library (ASan must come first).
sanitized_tests() {
    set --
    while IFS= read -r t; do
        case $t in
        */\ consumer-check) ;;
        *) set -- "$@" "${t#* / }" ;;
        esac
    done <<LIST
$(meson test -C "$san" --no-rebuild --list --suite unit --suite integration 2>/dev/null | grep ' / ')
LIST
    # meson test builds only what these tests need (not e2e, bench). Every report stops the
    # test that made it; leaks count (LeakSanitizer runs at exit).
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:print_summary=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1 \
        meson test -C "$san" --print-errorlogs --num-processes 2 --timeout-multiplier 3 "$@"
}

# A build that fails to configure or compile runs no tests; the summary counts its missing
# test log as a failure, so the last line is always there.
status=0
rm -f "$build/meson-logs/testlog.json" "$san/meson-logs/testlog.json"
if setup "$build" -Dtest_seams=true && meson compile -C "$build"; then
    meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?
else
    status=1
fi
logs="$build/meson-logs/testlog.json"
if [ "$sanitize" = 1 ]; then
    # Without optimisation: the sanitizers find the same bugs, and the build takes a quarter
    # of the time it takes at -O2 (it was most of .ci/run's time).
    if setup "$san" -Dtest_seams=true -Db_sanitize=address,undefined --buildtype=debug; then
        sanitized_tests || status=$?
    else
        status=1
    fi
    logs="$logs $san/meson-logs/testlog.json"
fi
# shellcheck disable=SC2086 # two paths without spaces
python3 tests/summary.py $logs || status=1
exit $status
